import { useCallback, useEffect, useRef, useState } from 'react';
import { AdminUser, api, toCommandError, User } from '../../api';
import { describeAdminError } from '../../errors';
import { Dialog } from '../Dialog';
import { AccountActions } from './AccountActions';
import './admin.css';
import { formatDate } from '../../dates';

interface Props {
  /** The signed-in admin (their own row is marked, and changing it changes them). */
  me: User;
  onClose: () => void;
  /** The signed-in admin's own account changed here (e.g. they are no longer an admin). */
  onMeChanged: (user: User) => void;
}

/** Accounts asked for at once; "Show more" asks for the next page with the server's cursor. */
const PAGE = 50;
/** Typing pauses this long before the list is asked for again. */
const SEARCH_DELAY_MS = 250;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

function day(iso: string): string {
  return formatDate(iso, 'mediumDay') || iso;
}

function moment(iso: string): string {
  return formatDate(iso, 'mediumMoment') || iso;
}

/**
 * The Administration panel, offered to server admins only: every account of the server, searched
 * by a prefix of its username, display name or email and paged with the server's cursor, each with
 * its badges (admin, deactivated), verified email, when it joined and was last active, how many
 * sessions it has and the storage it uses. "Manage" opens an account's actions
 * ({@link AccountActions}). The server decides who may do this; the panel says what it refused.
 */
export function AdminPanel({ me, onClose, onMeChanged }: Props) {
  const [query, setQuery] = useState('');
  const [accounts, setAccounts] = useState<AdminUser[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [storage, setStorage] = useState<Map<number, number> | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  // Answers to an older search that arrive late are dropped.
  const asked = useRef(0);

  const load = useCallback(async (q: string, after: string | null) => {
    const ticket = ++asked.current;
    setLoading(true);
    setError(null);
    try {
      const page = await api.adminUsers(q, after, PAGE);
      if (ticket !== asked.current) return;
      setAccounts((prev) => (after && prev ? [...prev, ...page.items] : page.items));
      setCursor(page.next_cursor);
    } catch (e) {
      if (ticket !== asked.current) return;
      const err = toCommandError(e);
      setError(describeAdminError(err).banner ?? err.message);
    } finally {
      if (ticket === asked.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    const timer = setTimeout(() => void load(query, null), query ? SEARCH_DELAY_MS : 0);
    return () => clearTimeout(timer);
  }, [query, load]);

  useEffect(() => {
    // Storage is a column of the list, not a reason to fail it: without the report it is left out.
    api.mediaUsage().then(
      (report) => setStorage(new Map(report.users.map((u) => [u.user_id, u.used_bytes]))),
      () => setStorage(null),
    );
  }, []);

  function changed(account: AdminUser) {
    setAccounts((prev) => prev?.map((a) => (a.user.id === account.user.id ? account : a)) ?? prev);
    if (account.user.id === me.id) onMeChanged(account.user);
  }

  return (
    <Dialog title="Administration" onClose={onClose} testId="admin-panel" wide>
      <p className="muted admin-intro">
        Every account on this server. Deactivated accounts cannot sign in; their messages stay.
      </p>
      <label htmlFor="admin-search">Search accounts</label>
      <input
        id="admin-search"
        type="search"
        data-autofocus
        data-testid="admin-search"
        placeholder="Username, name or email"
        maxLength={320}
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      {error && (
        <p className="field-error" role="alert" data-testid="admin-list-error">
          {error}
        </p>
      )}
      {accounts === null && !error && <p className="muted small">Loading…</p>}
      {accounts && accounts.length === 0 && (
        <p className="muted small" data-testid="admin-no-match">
          {query.trim() ? `No account matches “${query.trim()}”.` : 'No accounts.'}
        </p>
      )}
      {accounts && accounts.length > 0 && (
        <ul className="admin-list" aria-label="Accounts" aria-busy={loading}>
          {accounts.map((a) => {
            const u = a.user;
            const self = u.id === me.id;
            const used = storage?.get(u.id) ?? 0;
            const detailsId = `admin-account-${u.id}`;
            return (
              <li
                key={u.id}
                className={`admin-account${u.deactivated ? ' deactivated' : ''}`}
                data-testid="admin-account"
                data-username={u.username}
              >
                <div className="admin-row">
                  <div className="admin-who">
                    <span className="admin-names">
                      <strong>{u.display_name?.trim() || u.username}</strong>{' '}
                      <span className="muted">@{u.username}</span>
                    </span>
                    <span className="admin-badges">
                      {self && <span className="role member">You</span>}
                      {u.is_admin && (
                        <span className="role" data-testid="badge-admin">
                          Admin
                        </span>
                      )}
                      {u.deactivated && (
                        <span className="role deactivated" data-testid="badge-deactivated">
                          Deactivated
                        </span>
                      )}
                    </span>
                    <span className="muted small admin-line" data-testid="admin-email">
                      {a.email ? `${a.email} · verified` : 'No verified email'}
                    </span>
                    <span className="muted small admin-line">
                      Joined {day(u.created_at)} ·{' '}
                      {a.last_active_at ? `last active ${moment(a.last_active_at)}` : 'never signed in'}
                      {a.live_sessions > 0 &&
                        ` · ${a.live_sessions} ${a.live_sessions === 1 ? 'session' : 'sessions'}`}
                      {a.two_factor && ' · two-factor on'}
                      {storage && <span data-testid="admin-storage"> · {formatBytes(used)} stored</span>}
                    </span>
                  </div>
                  <button
                    type="button"
                    className="secondary small"
                    aria-expanded={open === u.id}
                    aria-controls={detailsId}
                    aria-label={`Manage @${u.username}`}
                    data-testid="admin-manage"
                    onClick={() => setOpen((o) => (o === u.id ? null : u.id))}
                  >
                    Manage
                  </button>
                </div>
                {open === u.id && (
                  <div id={detailsId}>
                    <AccountActions account={a} self={self} onChanged={changed} />
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {cursor && (
        <div className="row end">
          <button
            type="button"
            className="secondary"
            data-testid="admin-more"
            disabled={loading}
            onClick={() => void load(query, cursor)}
          >
            {loading ? 'Loading…' : 'Show more'}
          </button>
        </div>
      )}
    </Dialog>
  );
}
