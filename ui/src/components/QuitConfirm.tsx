import { useEffect, useState } from 'react';
import { api, onQuitRequested, QuitRequest, toCommandError } from '../api';
import { Dialog } from './Dialog';

/**
 * Asks before quitting while other people use the server this computer hosts: the app sends
 * `quit-requested` (from the tray's Quit, or from closing the window when it does not close to
 * the tray) instead of quitting, and quits only when the person confirms here.
 */
export function QuitConfirm() {
  const [request, setRequest] = useState<QuitRequest | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const unlisten = onQuitRequested((r) => {
      setError(null);
      setRequest(r);
    });
    return () => {
      unlisten.then((stop) => stop()).catch(() => undefined);
    };
  }, []);

  if (!request) return null;
  const people = request.others === 1 ? '1 other person is' : `${request.others} other people are`;
  return (
    <Dialog title="Quit Jeco Chat?" testId="quit-confirm" onClose={() => setRequest(null)}>
      <p>
        {people} connected to the server this computer hosts. Quitting stops it, and they lose their chat
        until Jeco Chat runs here again.
      </p>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div className="row end">
        <button type="button" className="secondary" data-autofocus onClick={() => setRequest(null)}>
          Keep running
        </button>
        <button
          type="button"
          className="danger"
          data-testid="quit-anyway"
          onClick={() => api.quitApp().catch((e) => setError(toCommandError(e).message))}
        >
          Quit anyway
        </button>
      </div>
    </Dialog>
  );
}
