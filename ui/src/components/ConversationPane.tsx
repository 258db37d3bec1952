import { useCallback, useEffect, useRef, useState } from 'react';
import { api, Conversation, TimelineItem, toCommandError, User } from '../api';
import { conversationLabel, displayName } from './ChatView';
import { Composer, Editing } from './Composer';
import type { MessageActions } from './MessageItem';
import { Timeline } from './Timeline';
import { refOf } from './timelineFormat';

interface Props {
  conversation: Conversation;
  me: number;
  users: Map<number, User>;
  /** Bumped when the engine says this timeline changed. */
  version: number;
  typing: number[];
  onUnknownUsers: (ids: number[]) => void;
}

/** One conversation: its timeline (from the cache; older pages on demand) and the composer. */
export function ConversationPane({ conversation, me, users, version, typing, onUnknownUsers }: Props) {
  const id = conversation.id;
  // The newest page (re-read on every change) and the older pages loaded by scrolling back.
  const [newest, setNewest] = useState<{ items: TimelineItem[]; hasMore: boolean }>({
    items: [],
    hasMore: false,
  });
  const [older, setOlder] = useState<{ items: TimelineItem[]; hasMore: boolean }>({
    items: [],
    hasMore: false,
  });
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [dropped, setDropped] = useState<File[]>([]);
  const [dragging, setDragging] = useState(false);
  const stickToBottom = useRef(true);
  const droppedTaken = useCallback(() => setDropped([]), []);

  const load = useCallback(async () => {
    try {
      const page = await api.timeline(id, null, 50);
      setNewest({ items: page.items, hasMore: page.has_more_before });
      onUnknownUsers(page.items.map((i) => i.message.sender_id));
      const lastSynced = [...page.items].reverse().find((i) => i.message.seq > 0);
      if (lastSynced && lastSynced.message.seq > conversation.read_seq) {
        void api.markRead(id, lastSynced.message.seq).catch(() => undefined);
      }
    } catch (e) {
      setError(toCommandError(e).message);
    }
  }, [id, conversation.read_seq, onUnknownUsers]);

  const firstNewest = newest.items.find((i) => i.message.seq > 0)?.message.seq ?? Infinity;
  const items = [...older.items.filter((i) => i.message.seq < firstNewest), ...newest.items];
  const hasMore = older.items.length > 0 ? older.hasMore : newest.hasMore;

  useEffect(() => {
    void load();
  }, [load, version]);

  async function loadOlder() {
    const oldest = items.find((i) => i.message.seq > 0);
    if (!oldest) return;
    setLoadingOlder(true);
    try {
      const page = await api.timeline(id, oldest.message.seq, 50);
      setOlder((prev) => ({ items: [...page.items, ...prev.items], hasMore: page.has_more_before }));
      onUnknownUsers(page.items.map((i) => i.message.sender_id));
    } catch (e) {
      setError(toCommandError(e).message);
    } finally {
      setLoadingOlder(false);
    }
  }

  async function act(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
      void load();
    } catch (e) {
      setError(toCommandError(e).message);
    }
  }

  const actions: MessageActions = {
    react: (item, emoji, add) => void act(() => api.react(id, refOf(item), emoji, add)),
    edit: (item) => setEditing({ target: refOf(item), text: item.message.text }),
    remove: (item) => void act(() => api.deleteMessage(id, refOf(item))),
    retry: (outboxId) => void act(() => api.retryOutbox(outboxId)),
    discard: (outboxId) => void act(() => api.discardOutbox(outboxId)),
  };

  const editLast = () => {
    const mine = [...items].reverse().find((i) => i.message.sender_id === me && !i.message.deleted);
    if (!mine) return false;
    setEditing({ target: refOf(mine), text: mine.message.text });
    return true;
  };

  const typingNames = typing.filter((u) => u !== me).map((u) => displayName(users.get(u)));
  const label = conversationLabel(conversation, me, users);

  return (
    <section
      className={`conversation-pane${dragging ? ' dragging' : ''}`}
      aria-label={label}
      onDragOver={(e) => {
        if (e.dataTransfer?.types?.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        const files = e.dataTransfer?.files;
        if (files && files.length > 0) setDropped(Array.from(files));
      }}
    >
      <header className="pane-header">
        <h1 data-testid="conversation-title">{label}</h1>
        {conversation.channel?.topic && <p className="muted topic">{conversation.channel.topic}</p>}
      </header>
      <Timeline
        items={items}
        hasMore={hasMore}
        loadingOlder={loadingOlder}
        onLoadOlder={loadOlder}
        me={me}
        users={users}
        actions={actions}
        stickToBottom={stickToBottom}
      />
      <p className="typing-line muted" aria-live="polite">
        {typingNames.length === 1
          ? `${typingNames[0]} is typing…`
          : typingNames.length > 1
            ? `${typingNames.join(', ')} are typing…`
            : ' '}
      </p>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <Composer
        conversationId={id}
        placeholder={`Message ${label}`}
        editing={editing}
        onEditLast={editLast}
        onCancelEdit={() => setEditing(null)}
        dropped={dropped}
        onDroppedTaken={droppedTaken}
        onSent={() => {
          stickToBottom.current = true;
          void load();
        }}
        onError={setError}
      />
    </section>
  );
}
