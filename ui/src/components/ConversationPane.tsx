import { KeyboardEvent, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { api, Conversation, MessageRef, TimelineItem, toCommandError, User } from '../api';
import { conversationLabel, displayName } from './ChatView';
import { Attachments } from './Attachments';
import { MuteToggle } from './MuteToggle';

interface Props {
  conversation: Conversation;
  me: number;
  users: Map<number, User>;
  /** Bumped when the engine says this timeline changed. */
  version: number;
  typing: number[];
  onUnknownUsers: (ids: number[]) => void;
}

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉'];

function refOf(item: TimelineItem): MessageRef {
  return item.message.id === 0 ? { pending: item.message.client_id } : { id: item.message.id };
}

/** A file's bytes as base64 (what the command takes: the web view cannot hand over a path). */
function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function keyOf(item: TimelineItem): string {
  return item.message.id === 0 ? `c${item.message.client_id}` : `m${item.message.id}`;
}

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function day(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? ''
    : d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
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
  const [text, setText] = useState('');
  const [editing, setEditing] = useState<MessageRef | null>(null);
  const [files, setFiles] = useState<File[]>([]);
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const listRef = useRef<HTMLOListElement>(null);
  const stickToBottom = useRef(true);
  const lastTyping = useRef(0);
  const draftTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

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

  useEffect(() => {
    api.draft(id).then(
      (d) => setText(d?.text ?? ''),
      () => undefined,
    );
  }, [id]);

  useLayoutEffect(() => {
    const list = listRef.current;
    if (list && stickToBottom.current) list.scrollTop = list.scrollHeight;
  }, [items]);

  async function loadOlder() {
    const oldest = items.find((i) => i.message.seq > 0);
    if (!oldest) return;
    setLoadingOlder(true);
    stickToBottom.current = false;
    const list = listRef.current;
    const before = list ? list.scrollHeight - list.scrollTop : 0;
    try {
      const page = await api.timeline(id, oldest.message.seq, 50);
      setOlder((prev) => ({ items: [...page.items, ...prev.items], hasMore: page.has_more_before }));
      onUnknownUsers(page.items.map((i) => i.message.sender_id));
      // Keep what was on screen where it was: no jump when older history arrives.
      requestAnimationFrame(() => {
        if (list) list.scrollTop = list.scrollHeight - before;
      });
    } catch (e) {
      setError(toCommandError(e).message);
    } finally {
      setLoadingOlder(false);
    }
  }

  function onScroll() {
    const list = listRef.current;
    if (!list) return;
    stickToBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  function saveDraft(value: string) {
    if (draftTimer.current) clearTimeout(draftTimer.current);
    draftTimer.current = setTimeout(() => void api.setDraft(id, value).catch(() => undefined), 400);
  }

  async function submit() {
    const value = text.trim();
    if (!value && files.length === 0) return;
    setError(null);
    try {
      if (files.length > 0 && !editing) {
        stickToBottom.current = true;
        const payload = await Promise.all(
          files.map(async (f) => ({ name: f.name || 'pasted-file', data_base64: await base64Of(f) })),
        );
        await api.sendWithFiles(id, value, payload);
        setFiles([]);
      } else if (editing) {
        await api.editMessage(id, editing, value);
        setEditing(null);
      } else {
        stickToBottom.current = true;
        await api.sendMessage(id, value);
      }
      setText('');
      void api.setDraft(id, '').catch(() => undefined);
      void api.typing(id, false).catch(() => undefined);
      void load();
    } catch (e) {
      setError(toCommandError(e).message);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape' && editing) {
      setEditing(null);
      setText('');
    } else if (e.key === 'ArrowUp' && text === '') {
      // Up in an empty composer edits your last message.
      const mine = [...items].reverse().find((i) => i.message.sender_id === me && !i.message.deleted);
      if (mine) {
        e.preventDefault();
        setEditing(refOf(mine));
        setText(mine.message.text);
      }
    }
  }

  function onChange(value: string) {
    setText(value);
    if (!editing) saveDraft(value);
    const now = Date.now();
    if (value && now - lastTyping.current > 3000) {
      lastTyping.current = now;
      void api.typing(id, true).catch(() => undefined);
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

  function addFiles(list: FileList | null | undefined) {
    if (!list || list.length === 0) return;
    // Copied now: the input's FileList is live and is cleared right after.
    const picked = Array.from(list);
    setFiles((prev) => [...prev, ...picked].slice(0, 10));
  }

  const typingNames = typing.filter((u) => u !== me).map((u) => displayName(users.get(u)));
  let lastDay = '';
  let lastSender = -1;

  return (
    <section
      className={`conversation-pane${dragging ? ' dragging' : ''}`}
      aria-label={conversationLabel(conversation, me, users)}
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
        addFiles(e.dataTransfer?.files);
      }}
    >
      <header className="pane-header">
        <h1 data-testid="conversation-title">{conversationLabel(conversation, me, users)}</h1>
        <MuteToggle conversation={conversation} />
        {conversation.channel?.topic && <p className="muted topic">{conversation.channel.topic}</p>}
      </header>
      <ol className="timeline" ref={listRef} onScroll={onScroll} data-testid="timeline" aria-live="polite">
        {hasMore && (
          <li className="load-older">
            <button type="button" className="secondary small" onClick={loadOlder} disabled={loadingOlder}>
              {loadingOlder ? 'Loading…' : 'Load older messages'}
            </button>
          </li>
        )}
        {items.length === 0 && <li className="muted empty">No messages yet. Say hello!</li>}
        {items.map((item) => {
          const m = item.message;
          const thisDay = day(m.created_at);
          const showDay = thisDay !== lastDay;
          const grouped = !showDay && m.sender_id === lastSender;
          lastDay = thisDay;
          lastSender = m.sender_id;
          const mine = m.sender_id === me;
          const state = item.state;
          return (
            <li key={keyOf(item)} className="timeline-entry">
              {showDay && (
                <div className="day-separator" role="separator">
                  {thisDay}
                </div>
              )}
              <article
                className={`message${grouped ? ' grouped' : ''}${state.state !== 'synced' ? ` ${state.state}` : ''}`}
                data-testid="message"
                data-state={state.state}
                data-message-id={m.id || undefined}
              >
                {!grouped && (
                  <header>
                    <strong>{displayName(users.get(m.sender_id))}</strong>
                    <time dateTime={m.created_at}>{time(m.created_at)}</time>
                  </header>
                )}
                {m.deleted ? (
                  <p className="text deleted">This message was deleted.</p>
                ) : (
                  <p className="text" data-testid="message-text">
                    {m.text}
                    {m.edited_at && <span className="muted edited"> (edited)</span>}
                  </p>
                )}
                {!m.deleted && <Attachments attachments={m.attachments} />}
                {m.reactions.length > 0 && (
                  <div className="reactions">
                    {m.reactions.map((r) => {
                      const reacted = r.user_ids.includes(me);
                      return (
                        <button
                          key={r.emoji}
                          type="button"
                          className={`reaction${reacted ? ' mine' : ''}`}
                          aria-pressed={reacted}
                          onClick={() => act(() => api.react(id, refOf(item), r.emoji, !reacted))}
                        >
                          {r.emoji} {r.count}
                        </button>
                      );
                    })}
                  </div>
                )}
                {state.state === 'pending' && (
                  <p className="muted status" data-testid="pending">
                    Sending…
                  </p>
                )}
                {state.state === 'failed' && (
                  <p className="status failed" role="alert" data-testid="failed">
                    Not sent: {state.message}{' '}
                    <button
                      type="button"
                      className="link"
                      onClick={() => act(() => api.retryOutbox(state.outbox_id))}
                    >
                      Retry
                    </button>{' '}
                    <button
                      type="button"
                      className="link"
                      onClick={() => act(() => api.discardOutbox(state.outbox_id))}
                    >
                      Discard
                    </button>
                  </p>
                )}
                {!m.deleted && (
                  <div className="actions">
                    {QUICK_REACTIONS.map((emoji) => (
                      <button
                        key={emoji}
                        type="button"
                        className="icon"
                        aria-label={`React ${emoji}`}
                        onClick={() => act(() => api.react(id, refOf(item), emoji, true))}
                      >
                        {emoji}
                      </button>
                    ))}
                    {mine && (
                      <>
                        <button
                          type="button"
                          className="icon"
                          aria-label="Edit"
                          onClick={() => {
                            setEditing(refOf(item));
                            setText(m.text);
                          }}
                        >
                          ✎
                        </button>
                        <button
                          type="button"
                          className="icon"
                          aria-label="Delete"
                          onClick={() => act(() => api.deleteMessage(id, refOf(item)))}
                        >
                          🗑
                        </button>
                      </>
                    )}
                  </div>
                )}
              </article>
            </li>
          );
        })}
      </ol>
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
      <div className="composer">
        {files.length > 0 && (
          <ul className="pending-files" aria-label="Files to send">
            {files.map((f, i) => (
              <li key={`${f.name}-${i}`}>
                📎 {f.name || 'pasted file'}
                <button
                  type="button"
                  className="icon"
                  aria-label={`Remove ${f.name}`}
                  onClick={() => setFiles((prev) => prev.filter((_, j) => j !== i))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        {editing && <p className="muted editing">Editing a message — Enter saves, Esc cancels.</p>}
        <textarea
          aria-label="Message"
          data-testid="composer"
          rows={2}
          placeholder={`Message ${conversationLabel(conversation, me, users)}`}
          value={text}
          onChange={(e) => onChange(e.target.value)}
          onKeyDown={onKeyDown}
          onPaste={(e) => {
            if (e.clipboardData?.files?.length) {
              e.preventDefault();
              addFiles(e.clipboardData.files);
            }
          }}
        />
        <input
          ref={fileInput}
          type="file"
          multiple
          className="file-input"
          data-testid="file-input"
          onChange={(e) => {
            addFiles(e.target.files);
            e.target.value = '';
          }}
        />
        <button
          type="button"
          className="secondary"
          aria-label="Attach files"
          onClick={() => fileInput.current?.click()}
        >
          📎
        </button>
        <button
          type="button"
          data-testid="send"
          onClick={() => void submit()}
          disabled={!text.trim() && files.length === 0}
        >
          {editing ? 'Save' : 'Send'}
        </button>
      </div>
    </section>
  );
}
