import { FormEvent, useCallback, useEffect, useState } from 'react';
import { api, Conversation, Invite, LIMITS, MemberRole, Team, TeamMember, toCommandError } from '../api';
import { Avatar } from './Avatar';
import { displayName } from './ChatView';
import { Dialog } from './Dialog';
import { formatDate } from '../dates';

type Tab = 'members' | 'invites' | 'channels';

interface Props {
  team: Team;
  me: number;
  onClose: () => void;
  /** The team changed in a way the sidebar shows (a channel made, the user left). */
  onChanged: () => void;
  /** A channel was created: open it. */
  onOpenChannel: (conversationId: number) => void;
}

const EXPIRY: { label: string; secs: number | null }[] = [
  { label: 'Never', secs: null },
  { label: '1 hour', secs: 3600 },
  { label: '1 day', secs: 86400 },
  { label: '7 days', secs: 7 * 86400 },
];

export function explain(e: unknown): string {
  const err = toCommandError(e);
  if (err.code === 'server_unreachable') return 'This needs the server, which is not reachable now.';
  if (err.code === 'forbidden') return 'Only the team’s owner or admins can do that.';
  return err.message;
}

/** A team's members and roles, its invitation codes and its channels. Admins manage; everyone
 * sees who is in the team. What the server refuses is explained, nothing is assumed. */
export function TeamDialog({ team, me, onClose, onChanged, onOpenChannel }: Props) {
  const admin = team.my_role === 'owner' || team.my_role === 'admin';
  const [tab, setTab] = useState<Tab>('members');
  const tabs: { id: Tab; label: string }[] = [
    { id: 'members', label: 'Members' },
    ...(admin ? [{ id: 'invites' as Tab, label: 'Invites' }] : []),
    { id: 'channels', label: 'Channels' },
  ];
  return (
    <Dialog title={team.name} onClose={onClose} testId="team-dialog" wide>
      <div className="segmented" role="tablist" aria-label="Team">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            aria-selected={tab === t.id}
            className={tab === t.id ? 'active' : ''}
            data-testid={`team-tab-${t.id}`}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel">
        {tab === 'members' && (
          <Members
            team={team}
            me={me}
            onLeft={() => {
              onChanged();
              onClose();
            }}
          />
        )}
        {tab === 'invites' && admin && <Invites team={team} />}
        {tab === 'channels' && (
          <NewChannel
            team={team}
            onCreated={(c) => {
              onChanged();
              onOpenChannel(c.id);
              onClose();
            }}
          />
        )}
      </div>
    </Dialog>
  );
}

function Members({ team, me, onLeft }: { team: Team; me: number; onLeft: () => void }) {
  const [members, setMembers] = useState<TeamMember[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState('');
  const [busy, setBusy] = useState(false);
  const owner = team.my_role === 'owner';
  const admin = owner || team.my_role === 'admin';

  const load = useCallback(async () => {
    try {
      setMembers(await api.teamMembers(team.id));
    } catch (e) {
      setError(explain(e));
    }
  }, [team.id]);
  useEffect(() => void load(), [load]);

  async function act(run: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await run();
      await load();
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  }

  async function add(e: FormEvent) {
    e.preventDefault();
    const name = adding.trim().replace(/^@/, '');
    if (!name) return;
    await act(async () => {
      await api.addTeamMember(team.id, name);
      setAdding('');
    });
  }

  return (
    <section aria-label="Members" className="stack">
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {members === null && !error && <p className="muted">Loading members…</p>}
      <ul className="member-list" data-testid="member-list">
        {members?.map((m) => (
          <li key={m.user.id} data-testid="member">
            <Avatar user={m.user} size={28} />
            <span className="who">
              <strong>{displayName(m.user)}</strong> <span className="muted">@{m.user.username}</span>
            </span>
            {owner && m.role !== 'owner' ? (
              <select
                aria-label={`Role of @${m.user.username}`}
                value={m.role}
                disabled={busy}
                onChange={(e) =>
                  void act(() => api.setTeamRole(team.id, m.user.id, e.target.value as MemberRole))
                }
              >
                <option value="member">Member</option>
                <option value="admin">Admin</option>
              </select>
            ) : (
              <span className={`role ${m.role}`}>
                {m.role === 'owner' ? 'Owner' : m.role === 'admin' ? 'Admin' : 'Member'}
              </span>
            )}
            {m.user.id === me
              ? m.role !== 'owner' && (
                  <button
                    type="button"
                    className="secondary small"
                    disabled={busy}
                    onClick={() => void act(() => api.removeTeamMember(team.id, me)).then(onLeft)}
                  >
                    Leave
                  </button>
                )
              : admin &&
                m.role !== 'owner' &&
                (owner || m.role === 'member') && (
                  <button
                    type="button"
                    className="secondary small"
                    aria-label={`Remove @${m.user.username}`}
                    disabled={busy}
                    onClick={() => void act(() => api.removeTeamMember(team.id, m.user.id))}
                  >
                    Remove
                  </button>
                )}
          </li>
        ))}
      </ul>
      {admin && (
        <form onSubmit={add} className="row">
          <label htmlFor="add-member" className="visually-hidden">
            Add a member by username
          </label>
          <input
            id="add-member"
            placeholder="Add by username"
            value={adding}
            autoComplete="off"
            onChange={(e) => setAdding(e.target.value)}
          />
          <button type="submit" className="small" disabled={busy || !adding.trim()}>
            Add
          </button>
        </form>
      )}
    </section>
  );
}

function inviteState(i: Invite): string {
  if (i.revoked) return 'Revoked';
  if (i.expires_at && new Date(i.expires_at).getTime() < Date.now()) return 'Expired';
  if (i.max_uses !== null && i.uses >= i.max_uses) return 'Used up';
  const uses = i.max_uses !== null ? `${i.uses} of ${i.max_uses} uses` : `${i.uses} uses`;
  const until = i.expires_at ? `, until ${formatDate(i.expires_at, 'full')}` : '';
  return `${uses}${until}`;
}

function Invites({ team }: { team: Team }) {
  const [invites, setInvites] = useState<Invite[] | null>(null);
  const [expiry, setExpiry] = useState(2);
  const [maxUses, setMaxUses] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setInvites(await api.invites(team.id));
    } catch (e) {
      setError(explain(e));
    }
  }, [team.id]);
  useEffect(() => void load(), [load]);

  async function create(e: FormEvent) {
    e.preventDefault();
    const uses = maxUses.trim() ? Number(maxUses) : null;
    if (uses !== null && (!Number.isInteger(uses) || uses < 1 || uses > 10000)) {
      setError('Uses: a whole number from 1 to 10000, or empty for no limit.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.createInvite(team.id, EXPIRY[expiry].secs, uses);
      await load();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  async function copy(i: Invite) {
    try {
      await navigator.clipboard.writeText(i.code);
      setCopied(i.id);
    } catch {
      setError('The clipboard is not available; select the code and copy it.');
    }
  }

  async function revoke(i: Invite) {
    setBusy(true);
    try {
      await api.revokeInvite(team.id, i.id);
      await load();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-label="Invites" className="stack">
      <form onSubmit={create} className="row wrap">
        <label htmlFor="invite-expiry">Expires</label>
        <select id="invite-expiry" value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
          {EXPIRY.map((x, i) => (
            <option key={x.label} value={i}>
              {x.label}
            </option>
          ))}
        </select>
        <label htmlFor="invite-uses">Uses</label>
        <input
          id="invite-uses"
          inputMode="numeric"
          placeholder="no limit"
          className="narrow"
          value={maxUses}
          onChange={(e) => setMaxUses(e.target.value)}
        />
        <button type="submit" className="small" disabled={busy} data-testid="create-invite">
          New invite code
        </button>
      </form>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {invites?.length === 0 && <p className="muted">No invitations yet.</p>}
      <ul className="invite-list">
        {invites?.map((i) => {
          const usable = inviteState(i).includes('uses');
          return (
            <li key={i.id} className={usable ? '' : 'dead'} data-testid="invite">
              <code className="invite-code" data-testid="invite-code">
                {i.code}
              </code>
              <span className="muted">{inviteState(i)}</span>
              {usable && (
                <>
                  <button type="button" className="secondary small" onClick={() => void copy(i)}>
                    {copied === i.id ? 'Copied' : 'Copy'}
                  </button>
                  <button
                    type="button"
                    className="secondary small"
                    disabled={busy}
                    onClick={() => void revoke(i)}
                  >
                    Revoke
                  </button>
                </>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** The form that makes a channel (in the team dialog's Channels tab and the channel browser). */
export function NewChannel({ team, onCreated }: { team: Team; onCreated: (channel: Conversation) => void }) {
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [isPrivate, setPrivate] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function create(e: FormEvent) {
    e.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    setError(null);
    try {
      const channel = await api.createChannel(team.id, name, isPrivate, topic.trim() || null);
      onCreated(channel);
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  }

  return (
    <form onSubmit={create} className="stack" aria-label="Create a channel">
      <label htmlFor="channel-name">New channel</label>
      <input
        id="channel-name"
        placeholder="e.g. design"
        value={name}
        maxLength={LIMITS.conversation_name_max}
        autoComplete="off"
        onChange={(e) => setName(e.target.value)}
      />
      <label htmlFor="channel-topic">Topic (optional)</label>
      <input
        id="channel-topic"
        value={topic}
        maxLength={LIMITS.topic_max}
        onChange={(e) => setTopic(e.target.value)}
      />
      <label className="check">
        <input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} /> Private:
        only people added can see it
      </label>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      <div className="row end">
        <button type="submit" disabled={busy || !name.trim()} data-testid="create-channel">
          Create channel
        </button>
      </div>
    </form>
  );
}
