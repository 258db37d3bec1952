import { useCallback, useEffect, useState } from 'react';
import { api, Message, toCommandError, User } from '../api';
import { displayName } from './ChatView';
import { time } from './timelineFormat';
import { plainText } from './markdown/plainText';

interface Props {
  conversationId: number;
  users: Map<number, User>;
  /** Bumped on every change of the conversation (pins arrive as events). */
  version: number;
  onJump: (message: Message) => void;
  onUnpin: (message: Message) => void;
  onClose: () => void;
}

/** The conversation's pinned messages, most recently pinned first; one click shows it. */
export function PinnedPanel({ conversationId, users, version, onJump, onUnpin, onClose }: Props) {
  const [pins, setPins] = useState<Message[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setPins(await api.pins(conversationId));
    } catch (e) {
      setError(toCommandError(e).message);
    }
  }, [conversationId]);

  useEffect(() => {
    void load();
  }, [load, version]);

  return (
    <aside className="side-panel pinned-panel" data-testid="pinned-panel" aria-label="Pinned messages">
      <header className="side-panel-header">
        <h2>Pinned</h2>
        <button type="button" className="icon" aria-label="Close pinned messages" onClick={onClose}>
          ×
        </button>
      </header>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <div className="side-panel-body">
        {pins === null ? (
          <p className="muted">Loading…</p>
        ) : pins.length === 0 ? (
          <p className="muted">Nothing is pinned here yet. Pin a message from its 📌 action.</p>
        ) : (
          <ul className="pinned-list">
            {pins.map((m) => (
              <li key={m.id} data-testid="pinned-message">
                <button type="button" className="pinned-entry" onClick={() => onJump(m)}>
                  <span className="pinned-meta">
                    <strong>{displayName(users.get(m.sender_id))}</strong>{' '}
                    <time dateTime={m.created_at}>{time(m.created_at)}</time>
                  </span>
                  <span className="pinned-text">
                    {m.deleted ? 'This message was deleted.' : plainText(m.text)}
                  </span>
                </button>
                <button
                  type="button"
                  className="icon"
                  aria-label={`Unpin ${displayName(users.get(m.sender_id))}'s message`}
                  onClick={() => onUnpin(m)}
                >
                  ✕
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </aside>
  );
}
