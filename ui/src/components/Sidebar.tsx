import { FormEvent, useState } from 'react';
import { api, Conversation, PresenceStatus, Team, toCommandError, User } from '../api';
import { conversationLabel } from './ChatView';

interface Props {
  me: number;
  users: Map<number, User>;
  conversations: Conversation[];
  selected: number | null;
  onSelect: (id: number) => void;
  onOpened: (c: Conversation) => void;
  /** The user's teams (their channels are listed under them). */
  teams?: Team[];
  onManageTeam?: (team: Team) => void;
  onContacts?: () => void;
  /** Presence heard since the list was read (it wins over the list's `peer_presence`). */
  presence?: Map<number, PresenceStatus>;
  /** Opens the Settings dialog (the gear at the bottom). */
  onOpenSettings?: () => void;
  /**
   * The link to the server is up. Without it nobody's presence is known: dots show "unknown"
   * instead of the last status heard (a green dot for someone who left an hour ago).
   */
  live?: boolean;
}

const SECTIONS: { kind: Conversation['kind']; title: string }[] = [
  { kind: 'channel', title: 'Channels' },
  { kind: 'group', title: 'Groups' },
  { kind: 'direct', title: 'Direct messages' },
];

/** Conversations by kind (most recently active first) — channels under their team — with unread and
 * mention badges, and the ways to start something: a direct message by username, joining a team by
 * invite code, creating a team, and the contacts list. */
export function Sidebar({
  me,
  users,
  conversations,
  selected,
  onSelect,
  onOpened,
  teams = [],
  onManageTeam,
  onContacts,
  onOpenSettings,
  presence,
  live = true,
}: Props) {
  const item = (c: Conversation) => {
    const label = conversationLabel(c, me, users);
    const peer = c.kind === 'direct' ? c.members.find((m) => m.user_id !== me)?.user_id : undefined;
    const heard = (peer !== undefined ? presence?.get(peer) : undefined) ?? c.peer_presence ?? 'offline';
    const status = live ? heard : 'unknown';
    const unread = c.unread_count > 0 && !c.muted;
    return (
      <li key={c.id}>
        <button
          type="button"
          className={`conversation${c.id === selected ? ' active' : ''}${unread ? ' unread' : ''}${c.muted ? ' muted' : ''}`}
          aria-current={c.id === selected ? 'page' : undefined}
          data-testid="conversation"
          onClick={() => onSelect(c.id)}
        >
          {c.kind === 'direct' && (
            <span
              className={`presence ${status}`}
              role="img"
              aria-label={live ? status : 'presence unknown while offline'}
              title={live ? undefined : 'Presence is unknown while offline'}
              data-testid="presence"
            />
          )}
          <span className="label">{label}</span>
          {c.muted && (
            <span className="muted-icon" role="img" aria-label="Muted" title="Muted">
              🔕
            </span>
          )}
          {c.mention_count > 0 && c.muted ? (
            <span className="badge quiet" aria-label={`${c.mention_count} mentions`}>
              @{c.mention_count}
            </span>
          ) : c.mention_count > 0 ? (
            <span className="badge mention" aria-label={`${c.mention_count} mentions`}>
              @{c.mention_count}
            </span>
          ) : unread ? (
            <span className="badge" aria-label={`${c.unread_count} unread`}>
              {c.unread_count}
            </span>
          ) : null}
        </button>
      </li>
    );
  };
  const known = new Set(teams.map((t) => t.id));
  const channels = conversations.filter((c) => c.kind === 'channel');
  // Channels of a team the cache does not know yet (it arrives with the next sync) stay visible.
  const loose = channels.filter((c) => !c.channel || !known.has(c.channel.team_id));
  return (
    <nav className="sidebar" aria-label="Conversations">
      {teams.map((team) => {
        const items = channels.filter((c) => c.channel?.team_id === team.id);
        return (
          <section key={`team-${team.id}`} aria-label={team.name} data-testid="team-section">
            <div className="section-head">
              <h2>{team.name}</h2>
              {onManageTeam && (
                <button
                  type="button"
                  className="icon-button"
                  aria-label={`Manage ${team.name}`}
                  title="Members, invites and channels"
                  data-testid="manage-team"
                  onClick={() => onManageTeam(team)}
                >
                  <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
                    <path d="M2 4h12M2 8h12M2 12h12" stroke="currentColor" strokeWidth="1.5" />
                    <circle cx="5" cy="4" r="2" fill="currentColor" />
                    <circle cx="11" cy="8" r="2" fill="currentColor" />
                    <circle cx="7" cy="12" r="2" fill="currentColor" />
                  </svg>
                </button>
              )}
            </div>
            <ul>{items.map(item)}</ul>
          </section>
        );
      })}
      {SECTIONS.map(({ kind, title }) => {
        const items = kind === 'channel' ? loose : conversations.filter((c) => c.kind === kind);
        if (items.length === 0) return null;
        return (
          <section key={kind}>
            <h2>{title}</h2>
            <ul>{items.map(item)}</ul>
          </section>
        );
      })}
      {onContacts && (
        <button type="button" className="sidebar-link" data-testid="open-contacts" onClick={onContacts}>
          Contacts and requests
        </button>
      )}
      <StartForm
        label="Direct message"
        placeholder="username"
        button="Open"
        testId="new-dm"
        run={(value) => api.openDirect(value)}
        onDone={onOpened}
      />
      <StartForm
        label="Join a team"
        placeholder="invite code"
        button="Join"
        testId="join-team"
        run={async (value) => generalOf(await api.joinInvite(value))}
        onDone={onOpened}
      />
      <StartForm
        label="Create a team"
        placeholder="team name"
        button="Create"
        testId="new-team"
        run={async (value) => generalOf(await api.createTeam(value))}
        onDone={onOpened}
      />
      {onOpenSettings && (
        <button
          type="button"
          className="settings-button"
          aria-label="Settings"
          title="Settings"
          data-testid="open-settings"
          onClick={onOpenSettings}
        >
          <span aria-hidden="true">⚙</span> Settings
        </button>
      )}
    </nav>
  );
}

/** A team's #general, once the engine has it. */
async function generalOf(team: Team): Promise<Conversation> {
  const list = await api.conversations();
  const general = list.find((c) => c.id === team.default_channel_id);
  if (!general) throw { code: 'not_found', message: 'The team has no #general channel.' };
  return general;
}

function StartForm(props: {
  label: string;
  placeholder: string;
  button: string;
  testId: string;
  run: (value: string) => Promise<Conversation>;
  onDone: (c: Conversation) => void;
}) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = `${props.testId}-input`;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!value.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const c = await props.run(value.trim());
      setValue('');
      props.onDone(c);
    } catch (err) {
      const e2 = toCommandError(err);
      setError(
        e2.code === 'server_unreachable' ? 'This needs the server, which is not reachable now.' : e2.message,
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="start-form" onSubmit={submit} data-testid={props.testId}>
      <label htmlFor={id}>{props.label}</label>
      <div className="row">
        <input
          id={id}
          value={value}
          placeholder={props.placeholder}
          onChange={(e) => setValue(e.target.value)}
          disabled={busy}
          autoComplete="off"
        />
        <button type="submit" className="secondary small" disabled={busy || !value.trim()}>
          {props.button}
        </button>
      </div>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
