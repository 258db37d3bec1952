import { KeyboardEvent, useEffect, useRef, useState } from 'react';
import { api, MessageRef, toCommandError } from '../api';

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

export interface Editing {
  target: MessageRef;
  text: string;
}

interface Props {
  conversationId: number;
  placeholder: string;
  /** The message being edited (its text is put in the composer), or null. */
  editing: Editing | null;
  /** Up in an empty composer: edit the last own message; false when there is none. */
  onEditLast: () => boolean;
  onCancelEdit: () => void;
  /** Files dropped on the conversation (outside the composer). */
  dropped: File[];
  onDroppedTaken: () => void;
  /** A message was queued or edited. */
  onSent: () => void;
  onError: (message: string | null) => void;
}

/**
 * The composer: Enter sends, Shift+Enter is a new line, Up edits your last message, Esc cancels;
 * drafts are kept per conversation; files come from 📎, a drop on the conversation, or a paste.
 */
export function Composer({
  conversationId: id,
  placeholder,
  editing,
  onEditLast,
  onCancelEdit,
  dropped,
  onDroppedTaken,
  onSent,
  onError,
}: Props) {
  const [text, setText] = useState('');
  const [files, setFiles] = useState<File[]>([]);
  const fileInput = useRef<HTMLInputElement>(null);
  const lastTyping = useRef(0);
  const draftTimer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    api.draft(id).then(
      (d) => setText(d?.text ?? ''),
      () => undefined,
    );
  }, [id]);

  useEffect(() => {
    if (editing) setText(editing.text);
  }, [editing]);

  useEffect(() => {
    if (dropped.length === 0) return;
    setFiles((prev) => [...prev, ...dropped].slice(0, 10));
    onDroppedTaken();
  }, [dropped, onDroppedTaken]);

  function saveDraft(value: string) {
    if (draftTimer.current) clearTimeout(draftTimer.current);
    draftTimer.current = setTimeout(() => void api.setDraft(id, value).catch(() => undefined), 400);
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
        await api.sendWithFiles(id, value, payload);
        setFiles([]);
      } else if (editing) {
        await api.editMessage(id, editing.target, value);
        onCancelEdit();
      } else {
        await api.sendMessage(id, value);
      }
      setText('');
      void api.setDraft(id, '').catch(() => undefined);
      void api.typing(id, false).catch(() => undefined);
      onSent();
    } catch (e) {
      onError(toCommandError(e).message);
    }
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    } else if (e.key === 'Escape' && editing) {
      onCancelEdit();
      setText('');
    } else if (e.key === 'ArrowUp' && text === '') {
      // Up in an empty composer edits your last message.
      if (onEditLast()) e.preventDefault();
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

  function addFiles(list: FileList | null | undefined) {
    if (!list || list.length === 0) return;
    // Copied now: the input's FileList is live and is cleared right after.
    const picked = Array.from(list);
    setFiles((prev) => [...prev, ...picked].slice(0, 10));
  }

  return (
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
        placeholder={placeholder}
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
  );
}
