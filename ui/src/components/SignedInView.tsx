import { useState } from 'react';
import { api, AppStatus, toCommandError, User } from '../api';
import { Logo } from './Logo';

interface Props {
  user: User;
  status: AppStatus | null;
  onSignedOut: () => void;
}

/** What a signed-in person sees until conversations arrive: who they are, where, and a way out. */
export function SignedInView({ user, status, onSignedOut }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const name = user.display_name?.trim() || user.username;

  async function logout() {
    setBusy(true);
    setError(null);
    try {
      await api.logout();
      onSignedOut();
    } catch (e) {
      const err = toCommandError(e);
      // The session is forgotten locally even when the server could not be told.
      if (err.code === 'server_unreachable') {
        onSignedOut();
        return;
      }
      setError(err.message);
      setBusy(false);
    }
  }

  return (
    <div className="app-shell" data-testid="signed-in">
      <header className="topbar">
        <div className="brand">
          <Logo size={28} />
          <span>Jeco Chat</span>
        </div>
        <div className="topbar-right">
          {status?.serverAddress && (
            <span className="server-pill" title="Server">
              <span className={`dot ${status.mode}`} aria-hidden="true" />
              {status.mode === 'embedded' ? 'Built-in server' : status.serverAddress}
            </span>
          )}
          <button type="button" className="secondary" data-testid="logout" onClick={logout} disabled={busy}>
            {busy ? 'Signing out…' : 'Log out'}
          </button>
        </div>
      </header>
      <main className="welcome">
        <div className="avatar" aria-hidden="true">
          {name.slice(0, 1).toUpperCase()}
        </div>
        <h1 data-testid="welcome">Welcome, {name}!</h1>
        <p className="muted">
          Signed in as <strong>@{user.username}</strong>
          {status?.serverAddress ? <> on {status.serverAddress}</> : null}
        </p>
        {error && (
          <div className="banner error" role="alert">
            {error}
          </div>
        )}
        <div className="empty-state">
          <p>No conversations yet.</p>
          <p className="muted">Conversations and messages arrive in the next version of Jeco Chat.</p>
        </div>
      </main>
    </div>
  );
}
