import { FormEvent, useEffect, useRef, useState } from 'react';
import { api, Conversation, LIMITS, User } from '../api';
import { Avatar } from './Avatar';
import { displayName } from './ChatView';
import { Dialog } from './Dialog';
import { explain } from './TeamDialog';
import './directory.css';

/** How long typing must pause before the server is asked (one search per pause, not per key). */
export const PEOPLE_SEARCH_DEBOUNCE_MS = 200;

export type PickerMode = 'direct' | 'group';

interface Props {
  me: number;
  /** `direct`: one person opens a direct message (more make a group); `group`: always a group. */
  mode: PickerMode;
  onClose: () => void;
  /** The conversation started: show it (the conversation list is read again first). */
  onOpened: (c: Conversation) => void;
}

/**
 * The people picker: search people by username or display name, pick one or more, and start a
 * direct message (one person) or a group (a name and several people, or the group mode). It
 * replaces typing an exact username: what the server finds is what can be picked. Answers to an
 * older search are dropped, so a slow reply never overwrites a newer one.
 */
export function PeoplePicker({ me, mode, onClose, onOpened }: Props) {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<User[] | null>(null);
  const [picked, setPicked] = useState<User[]>([]);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const asked = useRef(0);

  useEffect(() => {
    const n = ++asked.current;
    const timer = window.setTimeout(async () => {
      try {
        const users = await api.searchUsers(query.trim());
        if (n === asked.current) {
          setFound(users.filter((u) => u.id !== me));
          setError(null);
        }
      } catch (e) {
        if (n === asked.current) setError(explain(e));
      }
    }, PEOPLE_SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
  }, [query, me]);

  const group = mode === 'group' || picked.length > 1;
  const isPicked = (u: User) => picked.some((p) => p.id === u.id);

  function toggle(u: User) {
    setPicked((list) => (list.some((p) => p.id === u.id) ? list.filter((p) => p.id !== u.id) : [...list, u]));
  }

  async function start(e?: FormEvent) {
    e?.preventDefault();
    if (picked.length === 0 || (group && !name.trim())) return;
    setBusy(true);
    setError(null);
    try {
      const c = group
        ? await api.createGroup(
            name.trim(),
            picked.map((u) => u.id),
          )
        : await api.openDirectUser(picked[0].id);
      onOpened(c);
      onClose();
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  }

  const action = group ? 'Create group' : 'Open direct message';
  return (
    <Dialog
      title={mode === 'group' ? 'New group' : 'New message'}
      onClose={onClose}
      testId="people-picker"
      footer={
        <div className="picker-actions">
          <button
            type="button"
            className="secondary"
            onClick={onClose}
            disabled={busy}
            data-testid="picker-cancel"
          >
            Cancel
          </button>
          <button
            type="button"
            className="primary small"
            onClick={() => void start()}
            disabled={busy || picked.length === 0 || (group && !name.trim())}
            data-testid="picker-start"
          >
            {action}
          </button>
        </div>
      }
    >
      <form className="stack" onSubmit={(e) => void start(e)}>
        {group && (
          <>
            <label htmlFor="group-name">Group name</label>
            <input
              id="group-name"
              value={name}
              maxLength={LIMITS.conversation_name_max}
              placeholder="e.g. Launch crew"
              autoComplete="off"
              onChange={(e) => setName(e.target.value)}
            />
          </>
        )}
        <label htmlFor="people-search">{mode === 'group' ? 'Add people' : 'To'}</label>
        <input
          id="people-search"
          type="search"
          placeholder="Search by name or username"
          value={query}
          autoComplete="off"
          data-autofocus
          aria-describedby="people-picked"
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            // Enter picks the first person found that is not picked yet (then Enter again starts).
            if (e.key !== 'Enter') return;
            const first = found?.find((u) => !isPicked(u));
            if (first && query.trim()) {
              e.preventDefault();
              toggle(first);
              setQuery('');
            }
          }}
        />
      </form>
      <div id="people-picked" className="picked" aria-live="polite">
        {picked.length === 0 ? (
          <span className="muted">Nobody picked yet.</span>
        ) : (
          <>
            <span className="visually-hidden">Picked:</span>
            {picked.map((u) => (
              <span key={u.id} className="chip" data-testid="picked">
                {displayName(u)}
                <button
                  type="button"
                  className="icon-button"
                  aria-label={`Remove ${displayName(u)}`}
                  onClick={() => toggle(u)}
                >
                  ×
                </button>
              </span>
            ))}
          </>
        )}
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {found === null && !error && <p className="muted">Searching…</p>}
      {found?.length === 0 && <p className="muted">Nobody found for “{query.trim()}”.</p>}
      <ul className="member-list people-results" aria-label="People found">
        {found?.map((u) => (
          <li key={u.id}>
            <button
              type="button"
              className={`secondary person${isPicked(u) ? ' picked' : ''}`}
              aria-pressed={isPicked(u)}
              data-testid="person"
              onClick={() => toggle(u)}
            >
              <Avatar user={u} size={28} />
              <span className="who">
                <strong>{displayName(u)}</strong> <span className="muted">@{u.username}</span>
              </span>
              <span className="tick" aria-hidden="true">
                {isPicked(u) ? '✓' : ''}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
