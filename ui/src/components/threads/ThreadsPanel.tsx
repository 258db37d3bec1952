import { useEffect } from 'react';
import type { Conversation, ThreadEntry, User } from '../../api';
import { Avatar } from '../Avatar';
import { conversationLabel, displayName } from '../ChatView';
import { plainText } from '../markdown/plainText';
import { namesInWords } from './RepliesLine';
import './threads.css';
import { formatRecent } from '../../dates';

interface Props {
  me: number;
  users: Map<number, User>;
  conversations: Conversation[];
  /** The list (see `useThreads`): `null` until first read. */
  threads: ThreadEntry[] | null;
  /** Why the list could not be read now. */
  error: string | null;
  /** Offline: the list is the one last seen. */
  offline?: boolean;
  /** Open this thread (its conversation, with the thread panel). */
  onOpen: (conversationId: number, root: number) => void;
  onClose: () => void;
}

function when(iso: string): string {
  return formatRecent(iso);
}

function snippet(text: string): string {
  const plain = plainText(text);
  return plain.length > 140 ? `${plain.slice(0, 140)}…` : plain;
}

/**
 * The threads the user started or replied to, newest reply first, each with where it is, its
 * root, who replied last and how many replies are unread on this device. A click opens the thread
 * beside its conversation. Offline it shows the list as last seen and says so (see `useThreads`).
 */
export function ThreadsPanel({
  me,
  users,
  conversations,
  threads,
  error,
  offline = false,
  onOpen,
  onClose,
}: Props) {
  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.key === 'Escape') onClose();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  return (
    <aside className="threads-panel" aria-label="Threads" data-testid="threads-panel">
      <header className="threads-panel-header">
        <h2>Threads</h2>
        <button type="button" className="icon-button" aria-label="Close threads" onClick={onClose}>
          ×
        </button>
      </header>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {offline && !error && (
        <p className="muted threads-offline" data-testid="threads-offline">
          Offline: the threads as last seen here. New replies show up when the server is back.
        </p>
      )}
      {threads === null ? (
        <p className="muted">Loading…</p>
      ) : threads.length === 0 ? (
        !error && (
          <p className="muted" data-testid="threads-empty">
            No threads yet. Threads you start or reply to show up here.
          </p>
        )
      ) : (
        <ul>
          {threads.map((t) => {
            const c = conversations.find((x) => x.id === t.root.conversation_id);
            const where = c ? conversationLabel(c, me, users) : 'A conversation';
            const sender = displayName(users.get(t.root.sender_id));
            const count = t.root.reply_count === 1 ? '1 reply' : `${t.root.reply_count} replies`;
            const repliers = t.root.last_repliers.map((id) => displayName(users.get(id)));
            return (
              <li key={t.root.id}>
                <button
                  type="button"
                  className={`thread-entry${t.unread > 0 ? ' unread' : ''}`}
                  data-testid="thread-entry"
                  aria-label={`${where}: ${sender}: ${snippet(t.root.text)}. ${count}${
                    repliers.length ? ` from ${namesInWords(repliers)}` : ''
                  }${t.unread > 0 ? `, ${t.unread} unread` : ''}`}
                  onClick={() => onOpen(t.root.conversation_id, t.root.id)}
                >
                  <Avatar user={users.get(t.root.sender_id)} size={28} />
                  <span className="thread-entry-what">
                    <span className="thread-entry-where muted">{where}</span>
                    <span className="thread-entry-root">
                      <strong>{sender}</strong>{' '}
                      {t.root.deleted ? 'This message was deleted.' : snippet(t.root.text)}
                    </span>
                    <span className="thread-entry-meta muted">
                      {count}
                      {repliers.length > 0 && ` · ${repliers.join(', ')}`} · {when(t.last_reply_at)}
                    </span>
                  </span>
                  {t.unread > 0 && (
                    <span className="badge mention" data-testid="thread-unread">
                      {t.unread}
                    </span>
                  )}
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </aside>
  );
}
