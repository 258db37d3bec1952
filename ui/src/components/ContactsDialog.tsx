import { FormEvent, useCallback, useEffect, useState } from 'react';
import { api, ContactsView, Conversation, toCommandError } from '../api';
import { Avatar } from './Avatar';
import { displayName } from './ChatView';
import { Dialog } from './Dialog';

interface Props {
  onClose: () => void;
  /** A direct conversation was opened from the list. */
  onOpened: (c: Conversation) => void;
}

function explain(e: unknown): string {
  const err = toCommandError(e);
  return err.code === 'server_unreachable'
    ? 'Contacts need the server, which is not reachable now.'
    : err.message;
}

/** Contacts with their presence, requests to answer, requests waiting, and adding someone. */
export function ContactsDialog({ onClose, onOpened }: Props) {
  const [view, setView] = useState<ContactsView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setView(await api.contacts());
    } catch (e) {
      setError(explain(e));
    }
  }, []);
  useEffect(() => void load(), [load]);

  async function act(run: () => Promise<unknown>, done?: string) {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      await run();
      if (done) setNote(done);
      await load();
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  }

  function add(e: FormEvent) {
    e.preventDefault();
    const name = adding.trim().replace(/^@/, '');
    if (!name) return;
    void act(async () => {
      await api.requestContact(name);
      setAdding('');
    }, `Request sent to @${name}.`);
  }

  async function message(username: string) {
    try {
      onOpened(await api.openDirect(username));
      onClose();
    } catch (e) {
      setError(explain(e));
    }
  }

  return (
    <Dialog title="Contacts" onClose={onClose} testId="contacts-dialog">
      <form onSubmit={add} className="row">
        <label htmlFor="contact-add" className="visually-hidden">
          Add a contact by username
        </label>
        <input
          id="contact-add"
          placeholder="Add a contact by username"
          value={adding}
          autoComplete="off"
          onChange={(e) => setAdding(e.target.value)}
        />
        <button type="submit" className="small" disabled={busy || !adding.trim()}>
          Send request
        </button>
      </form>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {note && (
        <p className="muted" role="status">
          {note}
        </p>
      )}
      {view && view.incoming.length > 0 && (
        <section aria-label="Requests for you">
          <h3>Requests for you</h3>
          <ul className="member-list">
            {view.incoming.map(({ request, user }) => (
              <li key={request.id} data-testid="incoming-request">
                <Avatar user={user ?? undefined} size={28} />
                <span className="who">
                  <strong>{displayName(user ?? undefined)}</strong>
                </span>
                <button
                  type="button"
                  className="small"
                  disabled={busy}
                  onClick={() => void act(() => api.answerContactRequest(request.id, true))}
                >
                  Accept
                </button>
                <button
                  type="button"
                  className="secondary small"
                  disabled={busy}
                  onClick={() => void act(() => api.answerContactRequest(request.id, false))}
                >
                  Decline
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <section aria-label="Your contacts">
        <h3>Your contacts</h3>
        {view === null && !error && <p className="muted">Loading…</p>}
        {view?.contacts.length === 0 && <p className="muted">No contacts yet.</p>}
        <ul className="member-list">
          {view?.contacts.map((c) => (
            <li key={c.user.id} data-testid="contact">
              <Avatar user={c.user} size={28} />
              <span className={`presence ${c.presence}`} aria-label={c.presence} role="img" />
              <span className="who">
                <strong>{displayName(c.user)}</strong> <span className="muted">@{c.user.username}</span>
                {c.user.status_text && <span className="muted status-line">{c.user.status_text}</span>}
              </span>
              <button type="button" className="small" onClick={() => void message(c.user.username)}>
                Message
              </button>
              <button
                type="button"
                className="secondary small"
                aria-label={`Remove @${c.user.username}`}
                disabled={busy}
                onClick={() => void act(() => api.removeContact(c.user.id))}
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      </section>
      {view && view.outgoing.length > 0 && (
        <section aria-label="Waiting for an answer">
          <h3>Waiting for an answer</h3>
          <ul className="member-list">
            {view.outgoing.map(({ request, user }) => (
              <li key={request.id} data-testid="outgoing-request">
                <Avatar user={user ?? undefined} size={28} />
                <span className="who">{displayName(user ?? undefined)}</span>
                <button
                  type="button"
                  className="secondary small"
                  disabled={busy}
                  onClick={() => void act(() => api.cancelContactRequest(request.id))}
                >
                  Cancel
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Dialog>
  );
}
