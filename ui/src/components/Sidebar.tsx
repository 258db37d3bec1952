import { ReactNode, useState } from 'react';
import { createPortal } from 'react-dom';
import { Conversation, PresenceStatus, Team, User } from '../api';
import { ChannelBrowser } from './ChannelBrowser';
import { conversationLabel } from './ChatView';
import { PeoplePicker, PickerMode } from './PeoplePicker';
import { PlusIcon, PlusMenu } from './PlusMenu';
import { TeamStart, TeamStartDialog } from './TeamStartDialog';
import './people/faces.css';

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
  /** Opens the Administration panel; given only for server admins. */
  onOpenAdmin?: () => void;
  /**
   * The link to the server is up. Without it nobody's presence is known: dots show "unknown"
   * instead of the last status heard (a green dot for someone who left an hour ago).
   */
  live?: boolean;
  /** Shown above the conversations (the way to the Threads view). */
  above?: ReactNode;
}

const SECTIONS: { kind: Conversation['kind']; title: string }[] = [
  { kind: 'channel', title: 'Channels' },
  { kind: 'group', title: 'Groups' },
  { kind: 'direct', title: 'Direct messages' },
];

/** What a "+" opened: the people picker, a team's channel browser, or a team dialog. */
type Starting =
  | { kind: 'people'; mode: PickerMode }
  | { kind: 'channels'; team: Team; creating: boolean }
  | { kind: 'team'; mode: TeamStart };

/** Conversations by kind (most recently active first) — channels under their team — with unread and
 * mention badges, and the ways to start something, each behind a "+" menu and a dialog (no
 * permanent forms): a direct message or a group from the people picker, a team's channel browser,
 * creating or joining a team; and the contacts list. */
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
  onOpenAdmin,
  presence,
  live = true,
  above,
}: Props) {
  const [starting, setStarting] = useState<Starting | null>(null);
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
          {/* Every row has the same leading slot, so names line up whether or not a presence
              dot is in it. */}
          <span className="lead">
            {c.kind === 'direct' && (
              <span
                className={`presence ${status}`}
                role="img"
                aria-label={live ? status : 'presence unknown while offline'}
                title={live ? undefined : 'Presence is unknown while offline'}
                data-testid="presence"
              />
            )}
          </span>
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
  // The dialogs go to the end of the body, not inside the sidebar: its styles (a dark panel with
  // small uppercase headings) must not reach them, and a narrow window that hides it must not.
  const close = () => setStarting(null);
  const startDialog = (s: Starting): ReactNode => {
    switch (s.kind) {
      case 'people':
        return <PeoplePicker me={me} mode={s.mode} onClose={close} onOpened={onOpened} />;
      case 'channels':
        return (
          <ChannelBrowser
            team={s.team}
            creating={s.creating}
            onClose={close}
            onOpened={onOpened}
            onSelect={onSelect}
          />
        );
      case 'team':
        return <TeamStartDialog mode={s.mode} onClose={close} onOpened={onOpened} />;
    }
  };
  const known = new Set(teams.map((t) => t.id));
  const channels = conversations.filter((c) => c.kind === 'channel');
  // Channels of a team the cache does not know yet (it arrives with the next sync) stay visible.
  const loose = channels.filter((c) => !c.channel || !known.has(c.channel.team_id));
  return (
    <nav className="sidebar" id="conversations-sidebar" aria-label="Conversations">
      {above}
      <div className="section-head">
        <h2>Chats</h2>
        <PlusMenu
          label="New conversation or team"
          testId="start-plus"
          items={[
            {
              label: 'New message',
              testId: 'start-direct',
              onSelect: () => setStarting({ kind: 'people', mode: 'direct' }),
            },
            {
              label: 'New group',
              testId: 'start-group',
              onSelect: () => setStarting({ kind: 'people', mode: 'group' }),
            },
            {
              label: 'Create a team',
              testId: 'start-team',
              onSelect: () => setStarting({ kind: 'team', mode: 'create' }),
            },
            {
              label: 'Join a team',
              testId: 'start-join-team',
              onSelect: () => setStarting({ kind: 'team', mode: 'join' }),
            },
          ]}
        />
      </div>
      {teams.map((team) => {
        const items = channels.filter((c) => c.channel?.team_id === team.id);
        return (
          <section key={`team-${team.id}`} aria-label={team.name} data-testid="team-section">
            <div className="section-head">
              <h2>{team.name}</h2>
              <span className="section-actions">
                <PlusMenu
                  label={`Channels of ${team.name}`}
                  testId="team-plus"
                  items={[
                    {
                      label: 'Browse channels',
                      testId: 'browse-channels',
                      onSelect: () => setStarting({ kind: 'channels', team, creating: false }),
                    },
                    {
                      label: 'Create a channel',
                      testId: 'new-channel',
                      onSelect: () => setStarting({ kind: 'channels', team, creating: true }),
                    },
                  ]}
                />
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
              </span>
            </div>
            <ul>{items.map(item)}</ul>
          </section>
        );
      })}
      {SECTIONS.map(({ kind, title }) => {
        const items = kind === 'channel' ? loose : conversations.filter((c) => c.kind === kind);
        if (items.length === 0) return null;
        const mode: PickerMode | null = kind === 'direct' ? 'direct' : kind === 'group' ? 'group' : null;
        return (
          <section key={kind}>
            <div className="section-head">
              <h2>{title}</h2>
              {mode && (
                <button
                  type="button"
                  className="icon-button plus-button"
                  aria-label={mode === 'direct' ? 'New direct message' : 'New group'}
                  title={mode === 'direct' ? 'New direct message' : 'New group'}
                  onClick={() => setStarting({ kind: 'people', mode })}
                >
                  <PlusIcon />
                </button>
              )}
            </div>
            <ul>{items.map(item)}</ul>
          </section>
        );
      })}
      {onContacts && (
        <button type="button" className="sidebar-link" data-testid="open-contacts" onClick={onContacts}>
          Contacts and requests
        </button>
      )}
      {onOpenAdmin && (
        <button type="button" className="sidebar-link" data-testid="open-admin" onClick={onOpenAdmin}>
          Administration
        </button>
      )}
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
      {starting && createPortal(startDialog(starting), document.body)}
    </nav>
  );
}
