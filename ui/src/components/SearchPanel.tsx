import { KeyboardEvent, useEffect, useRef, useState } from 'react';
import { api, Conversation, SearchResult, toCommandError, User } from '../api';
import { conversationLabel, displayName } from './ChatView';
import { stripMarkers } from './markdown/plainText';
import { day, time } from './timelineFormat';

/** How long typing has to pause before a search runs: short enough to feel immediate, long
 * enough that a word typed at normal speed costs one search, not one per letter. */
export const SEARCH_DEBOUNCE_MS = 250;

interface Props {
  me: number;
  users: Map<number, User>;
  conversations: Conversation[];
  /** The open conversation, if any: the panel can limit the search to it. */
  current: Conversation | null;
  /** Opens the conversation at the message (scrolled to and highlighted). */
  onOpen: (conversationId: number, messageId: number, seq: number) => void;
  onClose: () => void;
}

/** When a hit was written: the time today, otherwise the day and the time. */
function when(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const today = new Date();
  return d.toDateString() === today.toDateString() ? time(iso) : `${day(iso)}, ${time(iso)}`;
}

/** Message search as you type: a pause in typing runs the search (the local cache answers at
 * once, also offline, merged with the server's results when online). An answer that arrives after
 * the query changed again is dropped, so the list always matches the box. Hits found only on the
 * server are marked, so it is clear what works offline. ↑/↓ move through the hits, Enter opens
 * one at its message, Esc closes the panel. */
export function SearchPanel({ me, users, conversations, current, onOpen, onClose }: Props) {
  const [query, setQuery] = useState('');
  const [here, setHere] = useState(false);
  const [results, setResults] = useState<SearchResult[] | null>(null);
  const [answered, setAnswered] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [active, setActive] = useState(0);
  /** Counts searches; only the newest one's answer is shown. */
  const latest = useRef(0);
  const hits = useRef<(HTMLButtonElement | null)[]>([]);
  const scope = here && current ? current.id : null;

  async function run(text: string, conversationId: number | null) {
    const ticket = ++latest.current;
    const q = text.trim();
    if (!q) {
      setResults(null);
      setError(null);
      setBusy(false);
      return;
    }
    setBusy(true);
    try {
      const found = await api.search(q, conversationId);
      if (ticket !== latest.current) return;
      setResults(found);
      setAnswered(q);
      setError(null);
      setActive(0);
    } catch (err) {
      if (ticket !== latest.current) return;
      setError(toCommandError(err).message);
    } finally {
      if (ticket === latest.current) setBusy(false);
    }
  }

  useEffect(() => {
    if (!query.trim()) {
      void run('', scope);
      return;
    }
    const timer = window.setTimeout(() => void run(query, scope), SEARCH_DEBOUNCE_MS);
    return () => window.clearTimeout(timer);
    // `run` reads nothing else that changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [query, scope]);

  function open(r: SearchResult) {
    onOpen(r.message.conversation_id, r.message.id, r.message.seq);
  }

  function onKeyDown(e: KeyboardEvent) {
    if (e.key === 'Escape') {
      onClose();
    } else if (e.key === 'ArrowDown' && results?.length) {
      e.preventDefault();
      setActive((a) => Math.min(a + 1, results.length - 1));
    } else if (e.key === 'ArrowUp' && results?.length) {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const hit = results?.[active];
      // Enter on a query whose answer is not in yet searches now instead of waiting out the pause.
      if (hit && answered === query.trim()) open(hit);
      else void run(query, scope);
    }
  }

  useEffect(() => {
    hits.current[active]?.scrollIntoView?.({ block: 'nearest' });
  }, [active]);

  return (
    <aside className="search-panel" aria-label="Search messages" data-testid="search-panel">
      <div className="row">
        <input
          type="search"
          aria-label="Search messages"
          placeholder="Search messages"
          aria-describedby="search-hint"
          value={query}
          autoFocus
          aria-controls="search-results"
          aria-activedescendant={results?.length ? `search-hit-${active}` : undefined}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <button type="button" className="secondary small" onClick={onClose}>
          Close
        </button>
      </div>
      <p className="muted search-hint" id="search-hint">
        Words, <code>"a phrase"</code>, <code>prefix*</code>, <code>from:@name</code>,{' '}
        <code>in:#channel</code>, <code>before:2026-12-01</code>, <code>after:…</code>, <code>has:file</code>
      </p>
      {current && (
        <label className="search-scope">
          <input type="checkbox" checked={here} onChange={(e) => setHere(e.target.checked)} />
          Only in {conversationLabel(current, me, users)}
        </label>
      )}
      <p className="muted search-status" aria-live="polite">
        {busy
          ? 'Searching…'
          : results && query.trim() === answered
            ? results.length === 0
              ? `No messages match “${answered}”.`
              : `${results.length} ${results.length === 1 ? 'message' : 'messages'}`
            : ''}
      </p>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {results && results.length > 0 && (
        <ol className="search-results" id="search-results" role="listbox" aria-label="Search results">
          {results.map((r, i) => {
            const c = conversations.find((x) => x.id === r.message.conversation_id);
            return (
              <li key={r.message.id} role="option" id={`search-hit-${i}`} aria-selected={i === active}>
                <button
                  type="button"
                  ref={(el) => {
                    hits.current[i] = el;
                  }}
                  className={i === active ? 'active' : undefined}
                  onClick={() => open(r)}
                  onMouseEnter={() => setActive(i)}
                  data-testid="search-hit"
                >
                  <span className="where">
                    <strong>{c ? conversationLabel(c, me, users) : 'a conversation'}</strong>
                    {r.message.reply_to !== null && <span className="muted"> · in a thread</span>} ·{' '}
                    {displayName(users.get(r.message.sender_id))}
                    <time className="muted" dateTime={r.message.created_at}>
                      {' '}
                      · {when(r.message.created_at)}
                    </time>
                    {!r.local && <span className="muted"> · from the server</span>}
                  </span>
                  <span className="snippet">
                    {r.snippet.map((part, j) =>
                      part.highlight ? (
                        <mark key={j}>{stripMarkers(part.text)}</mark>
                      ) : (
                        <span key={j}>{stripMarkers(part.text)}</span>
                      ),
                    )}
                  </span>
                </button>
              </li>
            );
          })}
        </ol>
      )}
    </aside>
  );
}
