import { useEffect, useState } from 'react';
import { api, Conversation, InboxItem, toCommandError, User } from '../api';
import { Avatar } from './Avatar';
import { conversationLabel, displayName } from './ChatView';
import { plainText } from './markdown/plainText';
import { formatRecent } from '../dates';

interface Props {
  me: number;
  users: Map<number, User>;
  conversations: Conversation[];
  items: InboxItem[];
  /** Re-read the list (after marking read). */
  onChanged: () => void;
  /** Open a conversation, at a message when the notification has one. */
  onOpen: (conversationId: number, messageId: number | null) => void;
  onClose: () => void;
}

/** What happened, in words, for one notification. */
export function describeNotification(
  item: InboxItem,
  me: number,
  users: Map<number, User>,
  conversations: Conversation[],
): string {
  const n = item.notification;
  const who = item.actor ? displayName(item.actor) : 'Someone';
  const c = conversations.find((x) => x.id === n.conversation_id);
  const where = c ? conversationLabel(c, me, users) : 'a conversation';
  switch (n.kind) {
    case 'welcome':
      return 'Welcome to Jeco Chat';
    case 'direct_message':
      return `${who} sent you a message`;
    case 'mention':
      return `${who} mentioned you in ${where}`;
    case 'reply':
      return `${who} replied to you in ${where}`;
    case 'contact_request':
      return `${who} wants to be a contact`;
    case 'contact_accepted':
      return `${who} accepted your contact request`;
    case 'added_to_team':
      return `${who} added you to a team`;
    case 'added_to_conversation':
      return `${who} added you to ${where}`;
  }
}

function when(iso: string): string {
  return formatRecent(iso);
}

/** Mentions, replies, direct messages and the rest, newest first; clicking one opens it. Works
 * offline from the cache; marking read needs the server and says so. */
export function NotificationsPanel({ me, users, conversations, items, onChanged, onOpen, onClose }: Props) {
  const [error, setError] = useState<string | null>(null);
  const unread = items.filter((i) => !i.read).length;

  useEffect(() => {
    function onKey(e: KeyboardEvent) {
      if (e.key === 'Escape') onClose();
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  async function open(item: InboxItem) {
    const n = item.notification;
    if (!item.read) {
      api.markInboxRead(n.id).then(onChanged, (e) => {
        const err = toCommandError(e);
        if (err.code !== 'server_unreachable') setError(err.message);
        onChanged();
      });
    }
    if (n.conversation_id !== null) onOpen(n.conversation_id, n.message_id);
  }

  async function readAll() {
    setError(null);
    try {
      await api.markInboxAllRead();
    } catch (e) {
      const err = toCommandError(e);
      setError(
        err.code === 'server_unreachable'
          ? 'Marking read needs the server, which is not reachable now.'
          : err.message,
      );
    }
    onChanged();
  }

  return (
    <aside className="notifications-panel" aria-label="Notifications" data-testid="notifications-panel">
      <header className="row">
        <h2>Notifications</h2>
        <button type="button" className="secondary small" onClick={readAll} disabled={unread === 0}>
          Mark all read
        </button>
        <button type="button" className="icon-button" aria-label="Close notifications" onClick={onClose}>
          ×
        </button>
      </header>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {items.length === 0 ? (
        <p className="muted">Nothing yet. Mentions, replies and direct messages show up here.</p>
      ) : (
        <ul>
          {items.map((item) => (
            <li key={item.notification.id}>
              <button
                type="button"
                className={`notification${item.read ? '' : ' unread'}`}
                data-testid="notification"
                onClick={() => void open(item)}
              >
                <Avatar user={item.actor ?? undefined} size={28} />
                <span className="what">
                  <span className="summary">
                    {describeNotification(item, me, users, conversations)}
                    {!item.read && <span className="visually-hidden"> (unread)</span>}
                  </span>
                  {item.notification.preview && (
                    <span className="preview muted">{plainText(item.notification.preview)}</span>
                  )}
                </span>
                <time className="muted" dateTime={item.notification.created_at}>
                  {when(item.notification.created_at)}
                </time>
              </button>
            </li>
          ))}
        </ul>
      )}
    </aside>
  );
}
