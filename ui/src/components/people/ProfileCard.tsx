import { useState } from 'react';
import { api, Conversation, PresenceStatus, toCommandError, User } from '../../api';
import { Avatar } from '../Avatar';
import { displayName } from '../ChatView';
import { Dialog } from '../Dialog';
import './profileCard.css';

interface Props {
  /** `undefined` while the user is not known yet (the card then says so). */
  user: User | undefined;
  me: number;
  /** Their presence as last heard, when known. */
  presence?: PresenceStatus;
  /** The direct conversation was opened (or already existed): show it. */
  onOpened: (c: Conversation) => void;
  onClose: () => void;
}

const PRESENCE_WORDS: Record<PresenceStatus, string> = {
  online: 'Online',
  away: 'Away',
  offline: 'Offline',
};

/**
 * A person at a glance, from a click on a name or face: picture, display name, @username, status
 * line and presence, and "Message" to open (or create) the direct conversation with them. A
 * dialog, so Esc, a click outside and the close button all dismiss it and focus goes back to the
 * name that opened it.
 */
export function ProfileCard({ user, me, presence, onOpened, onClose }: Props) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const name = displayName(user);

  async function message() {
    if (!user) return;
    setBusy(true);
    setError(null);
    try {
      const c = await api.openDirect(user.username);
      onClose();
      onOpened(c);
    } catch (e) {
      const err = toCommandError(e);
      setError(
        err.code === 'server_unreachable'
          ? 'Starting a conversation needs the server, which is not reachable now.'
          : err.message,
      );
      setBusy(false);
    }
  }

  return (
    <Dialog title={name} onClose={onClose} testId="profile-card">
      <div className="profile-card">
        <Avatar user={user} size={72} />
        <div className="profile-card-names">
          <strong className="profile-card-name">{name}</strong>
          {user && <span className="muted">@{user.username}</span>}
          {presence && (
            <span className="profile-card-presence" data-testid="profile-card-presence">
              <span className={`presence ${presence}`} aria-hidden="true" /> {PRESENCE_WORDS[presence]}
            </span>
          )}
        </div>
      </div>
      {user?.status_text && (
        <p className="profile-card-status" data-testid="profile-card-status">
          {user.status_text}
        </p>
      )}
      {user?.bio && <p className="profile-card-bio muted">{user.bio}</p>}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {user && user.id !== me && (
        <div className="row end">
          <button
            type="button"
            data-testid="profile-card-message"
            disabled={busy}
            onClick={() => void message()}
          >
            {busy ? 'Opening…' : 'Message'}
          </button>
        </div>
      )}
      {user && user.id === me && <p className="muted">This is you.</p>}
    </Dialog>
  );
}
