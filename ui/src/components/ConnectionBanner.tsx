import { useEffect, useState } from 'react';
import type { ConnectionState } from '../api';

interface Props {
  state: ConnectionState;
  onRetry: () => void;
  onSignIn: () => void;
  /**
   * The app talks to its built-in server and the person stopped it: say so and offer to start it,
   * instead of counting down to reconnects that cannot succeed.
   */
  builtInStopped?: boolean;
  onStartBuiltIn?: () => void;
}

/** A clear line while the app is not live: offline (with a countdown and "Retry now"), connecting,
 * catching up, or signed out by the server. Nothing while live. */
export function ConnectionBanner({
  state,
  onRetry,
  onSignIn,
  builtInStopped = false,
  onStartBuiltIn,
}: Props) {
  const [now, setNow] = useState(() => Date.now());
  const [since, setSince] = useState(() => Date.now());
  useEffect(() => {
    setSince(Date.now());
    if (state.state !== 'waiting_to_retry') return;
    const timer = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(timer);
  }, [state]);

  switch (state.state) {
    case 'live':
      return null;
    case 'waiting_to_retry': {
      if (builtInStopped)
        return (
          <div className="banner offline" role="status" data-testid="server-stopped-banner">
            <span>
              <strong>The built-in server is stopped.</strong> Your chats are still here; messages you write
              are kept and sent once it runs again.
            </span>
            {onStartBuiltIn && (
              <button type="button" className="secondary small" onClick={onStartBuiltIn}>
                Start it
              </button>
            )}
          </div>
        );
      const left = Math.max(0, Math.ceil((state.retry_in_ms - (now - since)) / 1000));
      return (
        <div className="banner offline" role="status" data-testid="offline-banner">
          <span>
            <strong>Offline.</strong> Messages you write are kept and sent when the connection is back.{' '}
            {left > 0 ? `Reconnecting in ${left} s.` : 'Reconnecting…'}
          </span>
          <button type="button" className="secondary small" onClick={onRetry}>
            Retry now
          </button>
        </div>
      );
    }
    case 'signed_out':
      return (
        <div className="banner error" role="alert" data-testid="signed-out-banner">
          <span>Your session ended on the server. Your chats are still here; sign in again to continue.</span>
          <button type="button" className="secondary small" onClick={onSignIn}>
            Sign in
          </button>
        </div>
      );
    case 'incompatible':
      return (
        <div className="banner error" role="alert">
          This server speaks another version of Jeco Chat ({state.reason}). Please update the app.
        </div>
      );
    default:
      return (
        <div className="banner connecting" role="status" data-testid="connecting-banner">
          {state.state === 'catching_up' ? 'Catching up…' : 'Connecting…'}
        </div>
      );
  }
}
