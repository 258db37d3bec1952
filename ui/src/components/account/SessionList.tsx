import { useCallback, useEffect, useState } from 'react';
import { api, SessionInfo, toCommandError } from '../../api';
import { describeAccountError } from '../../errors';
import { formatDate } from '../../dates';

interface Props {
  /** Changes when the list may be stale (the password changed and signed others out). */
  version: number;
}

function when(iso: string): string {
  return formatDate(iso, 'mediumMoment') || iso;
}

/**
 * The account's signed-in devices (one per session: the app or program, the address it was last
 * seen from, when), this one marked. Any other can be signed out, or all of them at once; their
 * connections close at once.
 */
export function SessionList({ version }: Props) {
  const [sessions, setSessions] = useState<SessionInfo[] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setSessions(await api.sessions());
    } catch (e) {
      setError(describeAccountError(toCommandError(e)).banner ?? toCommandError(e).message);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load, version]);

  async function act(action: () => Promise<string>) {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      setNote(await action());
    } catch (e) {
      setError(describeAccountError(toCommandError(e)).banner ?? toCommandError(e).message);
    } finally {
      await load();
      setBusy(false);
    }
  }

  const others = (sessions ?? []).filter((s) => !s.current);

  return (
    <div className="stack" data-testid="session-list">
      {sessions === null && !error && <p className="muted small">Loading…</p>}
      {sessions && (
        <ul className="member-list">
          {sessions.map((s) => (
            <li key={s.id} data-testid="session" data-current={s.current ? 'true' : undefined}>
              <span className="who">
                <strong className="session-client">{s.client ?? 'Unknown app'}</strong>
                {s.current && <span className="role">This device</span>}
                <span className="muted small status-line">
                  {s.address ?? 'Unknown address'} · last active {when(s.last_active_at)}
                </span>
              </span>
              {!s.current && (
                <button
                  type="button"
                  className="secondary small"
                  data-testid="end-session"
                  disabled={busy}
                  onClick={() =>
                    void act(async () => {
                      await api.endSession(s.id);
                      return 'That device is signed out.';
                    })
                  }
                >
                  Sign out
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {note && (
        <p className="muted small" role="status" data-testid="sessions-note">
          {note}
        </p>
      )}
      {others.length > 0 && (
        <div className="row end">
          <button
            type="button"
            className="danger"
            data-testid="sign-out-others"
            disabled={busy}
            onClick={() =>
              void act(async () => {
                const n = await api.signOutOthers();
                return n === 1 ? '1 other device is signed out.' : `${n} other devices are signed out.`;
              })
            }
          >
            Sign out all other devices
          </button>
        </div>
      )}
    </div>
  );
}
