import { KeyboardEvent, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { api, LIMITS, MessageRef, TimelineItem, toCommandError, User } from '../api';
import { displayName } from './ChatView';
import { EmojiPicker } from './EmojiPicker';
import { VoiceRecorder } from './VoiceRecorder';
import { searchEmoji } from './emoji';
import { base64Of } from '../files';
import { plainText } from './markdown/plainText';
import { sentIdOf } from './timelineFormat';

/** The replied-to message in the reply bar: plain text, at most 100 characters. */
function quoteText(text: string): string {
  const plain = plainText(text);
  return plain.length > 100 ? `${plain.slice(0, 100)}…` : plain;
}

export interface Editing {
  target: MessageRef;
  text: string;
}

interface Suggestion {
  key: string;
  label: string;
  detail?: string;
  insert: string;
}

/** At most this many suggestions in the @mention and :emoji lists. */
const SUGGESTIONS_MAX = 8;

interface Props {
  conversationId: number;
  placeholder: string;
  /** Who can be @mentioned (the conversation's members, without the user). */
  members: User[];
  users: Map<number, User>;
  /** The message being edited (its text is put in the composer), or null. */
  editing: Editing | null;
  /** Up in an empty composer: edit the last own message; false when there is none. */
  onEditLast: () => boolean;
  onCancelEdit: () => void;
  /** The message quoted above the composer (the send replies to it), or null. */
  replyTo?: TimelineItem | null;
  onCancelReply?: () => void;
  /** A thread's composer: every send replies to this root (no quote bar, no draft). */
  threadRoot?: number;
  /** With `threadRoot`: the replies stay in the thread, out of the channel. */
  threadOnly?: boolean;
  /** Files dropped on the conversation (outside the composer). */
  dropped?: File[];
  onDroppedTaken?: () => void;
  /** A message was queued or edited. */
  onSent: () => void;
  onError: (message: string | null) => void;
  testId?: string;
  sendTestId?: string;
}

/**
 * The composer: Enter sends, Shift+Enter is a new line, Up edits your last message, Esc cancels a
 * reply or an edit; @ completes members' names and : emoji names (arrows, Enter or Tab, Esc);
 * drafts are kept per conversation; files come from 📎, a drop on the conversation, or a paste.
 */
export function Composer({
  conversationId: id,
  placeholder,
  members,
  users,
  editing,
  onEditLast,
  onCancelEdit,
  replyTo = null,
  onCancelReply,
  threadRoot,
  threadOnly = false,
  dropped,
  onDroppedTaken,
  onSent,
  onError,
  testId = 'composer',
  sendTestId = 'send',
}: Props) {
  const [text, setText] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const [caret, setCaret] = useState(0);
  const [selected, setSelected] = useState(0);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const [pickingEmoji, setPickingEmoji] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const textarea = useRef<HTMLTextAreaElement>(null);
  const lastTyping = useRef(0);
  const draftTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const listId = useId();
  const pendingCaret = useRef<number | null>(null);
  const keepsDraft = threadRoot === undefined;

  useEffect(() => {
    if (!keepsDraft) return;
    api.draft(id).then(
      (d) => setText(d?.text ?? ''),
      () => undefined,
    );
  }, [id, keepsDraft]);

  useEffect(() => {
    if (editing) {
      setText(editing.text);
      textarea.current?.focus();
    }
  }, [editing]);

  useEffect(() => {
    if (replyTo) textarea.current?.focus();
  }, [replyTo]);

  useEffect(() => {
    if (!dropped || dropped.length === 0) return;
    setFiles((prev) => [...prev, ...dropped].slice(0, LIMITS.attachments_per_message_max));
    onDroppedTaken?.();
  }, [dropped, onDroppedTaken]);

  // The word being typed at the caret: "@gra" completes a member, ":thu" an emoji.
  const before = text.slice(0, caret);
  const mention = /(^|\s)@([\w.-]*)$/.exec(before);
  const colon = mention ? null : /(^|\s):([a-z0-9_+-]{2,})$/i.exec(before);
  const token = mention ?? colon;
  const tokenKey = token ? `${caret - token[2].length - 1}:${token[0].trim()}` : null;
  let suggestions: Suggestion[] = [];
  if (token && tokenKey !== dismissed) {
    const q = token[2].toLowerCase();
    suggestions = mention
      ? members
          .filter(
            (u) =>
              u.username.startsWith(q) ||
              (u.display_name ?? '')
                .toLowerCase()
                .split(/\s+/)
                .some((w) => w.startsWith(q)),
          )
          .slice(0, SUGGESTIONS_MAX)
          .map((u) => ({
            key: `u${u.id}`,
            label: `@${u.username}`,
            detail: u.display_name ?? undefined,
            insert: `@${u.username} `,
          }))
      : searchEmoji(q, SUGGESTIONS_MAX).map((e) => ({
          key: e.name,
          label: `${e.emoji} :${e.name}:`,
          insert: `${e.emoji} `,
        }));
  }
  const open = suggestions.length > 0;
  const active = open ? Math.min(selected, suggestions.length - 1) : -1;

  function replaceAt(start: number, end: number, insert: string) {
    const next = text.slice(0, start) + insert + text.slice(end);
    const at = start + insert.length;
    pendingCaret.current = at;
    onChange(next, at);
  }

  // The caret goes after an inserted completion as soon as the new text is in the field (not a
  // frame later, when more may have been typed).
  useLayoutEffect(() => {
    const el = textarea.current;
    const at = pendingCaret.current;
    if (el && at !== null) {
      pendingCaret.current = null;
      el.focus();
      el.setSelectionRange(at, at);
    }
  });

  function accept(s: Suggestion) {
    if (!token) return;
    replaceAt(caret - token[2].length - 1, caret, s.insert);
    setSelected(0);
  }

  function saveDraft(value: string) {
    if (!keepsDraft) return;
    if (draftTimer.current) clearTimeout(draftTimer.current);
    draftTimer.current = setTimeout(() => void api.setDraft(id, value).catch(() => undefined), 400);
  }

  /** What a send replies to: the thread's root, or the quoted message. */
  function replyParent(): number | null {
    return threadRoot ?? (replyTo ? sentIdOf(replyTo) : null);
  }

  /** Whether a send stays in the thread (only a thread's composer keeps replies there). */
  function keptInThread(): boolean {
    return threadRoot !== undefined && threadOnly;
  }

  async function submit() {
    const value = text.trim();
    if (!value && files.length === 0) return;
    onError(null);
    try {
      if (files.length > 0 && !editing) {
        const payload = await Promise.all(
          files.map(async (f) => ({ name: f.name || 'pasted-file', data_base64: await base64Of(f) })),
        );
        await api.sendWithFiles(id, value, payload, replyParent(), keptInThread());
        setFiles([]);
        onCancelReply?.();
      } else if (editing) {
        await api.editMessage(id, editing.target, value);
        onCancelEdit();
      } else {
        await api.sendMessage(id, value, replyParent(), keptInThread());
        onCancelReply?.();
      }
      setText('');
      setCaret(0);
      if (keepsDraft) void api.setDraft(id, '').catch(() => undefined);
      void api.typing(id, false).catch(() => undefined);
      onSent();
    } catch (e) {
      onError(toCommandError(e).message);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = suggestions.length;
        setSelected((active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if ((e.key === 'Enter' && !e.shiftKey) || e.key === 'Tab') {
        e.preventDefault();
        accept(suggestions[active]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setDismissed(tokenKey);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape' && (editing || replyTo)) {
      e.preventDefault();
      if (editing) {
        onCancelEdit();
        setText('');
      } else {
        onCancelReply?.();
      }
    } else if (e.key === 'ArrowUp' && text === '') {
      // Up in an empty composer edits your last message.
      if (onEditLast()) e.preventDefault();
    }
  }

  function onChange(value: string, at: number) {
    setText(value);
    setCaret(at);
    if (!editing) saveDraft(value);
    const now = Date.now();
    if (value && now - lastTyping.current > LIMITS.typing_repeat_ms) {
      lastTyping.current = now;
      void api.typing(id, true).catch(() => undefined);
    }
  }

  function addFiles(list: FileList | null | undefined) {
    if (!list || list.length === 0) return;
    // Copied now: the input's FileList is live and is cleared right after.
    const picked = Array.from(list);
    setFiles((prev) => [...prev, ...picked].slice(0, LIMITS.attachments_per_message_max));
  }

  const replyName = replyTo ? displayName(users.get(replyTo.message.sender_id)) : '';
  return (
    <div className="composer" data-testid={`${testId}-box`}>
      {replyTo && (
        <div className="reply-bar" data-testid="reply-bar">
          <span>
            Replying to <strong>{replyName}</strong>:{' '}
            <span className="muted">{quoteText(replyTo.message.text)}</span>
          </span>
          <button type="button" className="icon" aria-label="Cancel reply" onClick={() => onCancelReply?.()}>
            ×
          </button>
        </div>
      )}
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
      {open && (
        <ul
          className="suggestions"
          id={listId}
          role="listbox"
          aria-label={mention ? 'Mention someone' : 'Insert an emoji'}
          data-testid="suggestions"
        >
          {suggestions.map((s, i) => (
            <li
              key={s.key}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(s);
              }}
            >
              <span>{s.label}</span>
              {s.detail && <span className="muted"> {s.detail}</span>}
            </li>
          ))}
        </ul>
      )}
      <textarea
        ref={textarea}
        aria-label={threadRoot === undefined ? 'Message' : 'Reply in thread'}
        data-testid={testId}
        rows={2}
        placeholder={placeholder}
        value={text}
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        aria-activedescendant={open ? `${listId}-${active}` : undefined}
        onChange={(e) => onChange(e.target.value, e.target.selectionStart ?? e.target.value.length)}
        onSelect={(e) => setCaret(e.currentTarget.selectionStart ?? 0)}
        onKeyDown={onKeyDown}
        onPaste={(e) => {
          if (e.clipboardData?.files?.length) {
            e.preventDefault();
            addFiles(e.clipboardData.files);
          }
        }}
      />
      <div className="composer-tools">
        <button
          type="button"
          className="secondary"
          aria-label="Insert emoji"
          aria-haspopup="dialog"
          aria-expanded={pickingEmoji}
          onClick={() => setPickingEmoji((v) => !v)}
        >
          😊
        </button>
        {pickingEmoji && (
          <EmojiPicker
            label="Insert an emoji"
            onPick={(emoji) => {
              setPickingEmoji(false);
              const el = textarea.current;
              const start = el?.selectionStart ?? text.length;
              const end = el?.selectionEnd ?? text.length;
              replaceAt(start, end, emoji);
            }}
            onClose={() => setPickingEmoji(false)}
          />
        )}
        <input
          ref={fileInput}
          type="file"
          multiple
          className="file-input"
          data-testid={threadRoot === undefined ? 'file-input' : 'thread-file-input'}
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
        <VoiceRecorder
          conversationId={id}
          replyTo={threadRoot ?? null}
          threadOnly={threadRoot !== undefined && threadOnly}
        />
      </div>
      <button
        type="button"
        data-testid={sendTestId}
        onClick={() => void submit()}
        disabled={!text.trim() && files.length === 0}
      >
        {editing ? 'Save' : 'Send'}
      </button>
    </div>
  );
}
