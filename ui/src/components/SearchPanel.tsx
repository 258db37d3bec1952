import { FormEvent, useState } from 'react';
import { api, Conversation, SearchResult, toCommandError, User } from '../api';
import { conversationLabel, displayName } from './ChatView';
import { stripMarkers } from './markdown/plainText';

interface Props {
  me: number;
  users: Map<number, User>;
  conversations: Conversation[];
  onOpen: (conversationId: number) => void;
  onClose: () => void;
}

/** Message search: the local cache answers at once (also offline), merged with the server's results
 * when online. Hits found only on the server are marked, so it is clear what works offline. */
export function SearchPanel({ me, users, conversations, onOpen, onClose }: Props) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<SearchResult[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!query.trim()) return;
    setBusy(true);
    setError(null);
    try {
      setResults(await api.search(query.trim()));
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <aside className="search-panel" aria-label="Search messages" data-testid="search-panel">
      <form onSubmit={submit} className="row">
        <input
          aria-label="Search messages"
          placeholder="Search messages"
          value={query}
          autoFocus
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape') onClose();
          }}
        />
        <button type="submit" className="small" disabled={busy || !query.trim()}>
          Search
        </button>
        <button type="button" className="secondary small" onClick={onClose}>
          Close
        </button>
      </form>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {results && results.length === 0 && <p className="muted">No messages match “{query}”.</p>}
      {results && results.length > 0 && (
        <ol className="search-results">
          {results.map((r) => {
            const c = conversations.find((x) => x.id === r.message.conversation_id);
            return (
              <li key={r.message.id}>
                <button
                  type="button"
                  onClick={() => onOpen(r.message.conversation_id)}
                  data-testid="search-hit"
                >
                  <span className="where">
                    {c ? conversationLabel(c, me, users) : 'a conversation'} ·{' '}
                    {displayName(users.get(r.message.sender_id))}
                    {!r.local && <span className="muted"> · from the server</span>}
                  </span>
                  <span className="snippet">
                    {r.snippet.map((part, i) =>
                      part.highlight ? (
                        <mark key={i}>{stripMarkers(part.text)}</mark>
                      ) : (
                        <span key={i}>{stripMarkers(part.text)}</span>
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
