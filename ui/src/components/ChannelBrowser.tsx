import { useCallback, useEffect, useState } from 'react';
import { api, Channel, Conversation, Team } from '../api';
import { Dialog } from './Dialog';
import { explain, NewChannel } from './TeamDialog';
import './directory.css';

interface Props {
  team: Team;
  /** Open with the "new channel" form showing (the team menu's "Create a channel"). */
  creating?: boolean;
  onClose: () => void;
  /** A channel was joined or created: show it (the conversation list is read again first). */
  onOpened: (c: Conversation) => void;
  /** An already joined channel was picked: select it. */
  onSelect: (conversationId: number) => void;
}

function members(n: number): string {
  return n === 1 ? '1 member' : `${n} members`;
}

/**
 * A team's channels, as the server lists them for the user: every public one with its topic and
 * member count, joined or not, and the private ones the user is in. Join opens the channel;
 * Leave takes the user out (not of `#general`: that is leaving the team). A filter narrows the
 * list by name or topic; the list is the server's, so it needs the connection.
 */
export function ChannelBrowser({ team, creating = false, onClose, onOpened, onSelect }: Props) {
  const [channels, setChannels] = useState<Channel[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const [making, setMaking] = useState(creating);

  const load = useCallback(async () => {
    try {
      setChannels(await api.teamChannels(team.id));
    } catch (e) {
      setError(explain(e));
    }
  }, [team.id]);
  useEffect(() => void load(), [load]);

  async function join(c: Channel) {
    setBusy(c.id);
    setError(null);
    try {
      const conversation = await api.joinChannel(c.id);
      onOpened(conversation);
      onClose();
    } catch (e) {
      setError(explain(e));
      setBusy(null);
    }
  }

  async function leave(c: Channel) {
    setBusy(c.id);
    setError(null);
    try {
      await api.leaveConversation(c.id);
      await load();
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(null);
    }
  }

  const needle = filter.trim().toLowerCase().replace(/^#/, '');
  const shown = (channels ?? []).filter(
    (c) => !needle || c.name.toLowerCase().includes(needle) || c.topic?.toLowerCase().includes(needle),
  );

  return (
    <Dialog title={`Channels in ${team.name}`} onClose={onClose} testId="channel-browser" wide>
      {making ? (
        <>
          <NewChannel
            team={team}
            onCreated={(c) => {
              onOpened(c);
              onClose();
            }}
          />
          <button type="button" className="link" onClick={() => setMaking(false)}>
            Back to the channel list
          </button>
        </>
      ) : (
        <section aria-label="Channel list" className="stack">
          <div className="channel-filter-row">
            <label htmlFor="channel-filter" className="visually-hidden">
              Find a channel
            </label>
            <input
              id="channel-filter"
              type="search"
              placeholder="Find a channel"
              value={filter}
              autoComplete="off"
              data-autofocus
              onChange={(e) => setFilter(e.target.value)}
            />
            <button type="button" className="secondary small" onClick={() => setMaking(true)}>
              New channel
            </button>
          </div>
          {error && (
            <p className="field-error" role="alert">
              {error}
            </p>
          )}
          {channels === null && !error && <p className="muted">Loading channels…</p>}
          {channels !== null && shown.length === 0 && (
            <p className="muted">{needle ? `No channel matches “${filter.trim()}”.` : 'No channels yet.'}</p>
          )}
          <ul className="channel-list" aria-label="Channels">
            {shown.map((c) => (
              <li key={c.id} data-testid="channel-row" data-channel={c.name}>
                <div className="channel-info">
                  <span className="channel-name">
                    {c.private ? (
                      <span role="img" aria-label="Private channel" title="Private channel">
                        🔒
                      </span>
                    ) : (
                      '#'
                    )}
                    {c.name}
                  </span>
                  {c.archived && <span className="role member">Archived</span>}
                  <span className="muted channel-count">{members(c.member_count)}</span>
                  {c.topic && <span className="channel-topic">{c.topic}</span>}
                </div>
                {c.joined ? (
                  <>
                    <button
                      type="button"
                      className="secondary small"
                      aria-label={`Open #${c.name}`}
                      onClick={() => {
                        onSelect(c.id);
                        onClose();
                      }}
                    >
                      Open
                    </button>
                    {!c.is_default && (
                      <button
                        type="button"
                        className="secondary small"
                        aria-label={`Leave #${c.name}`}
                        disabled={busy !== null}
                        onClick={() => void leave(c)}
                      >
                        Leave
                      </button>
                    )}
                  </>
                ) : (
                  <button
                    type="button"
                    className="small"
                    aria-label={`Join #${c.name}`}
                    disabled={busy !== null}
                    onClick={() => void join(c)}
                  >
                    {busy === c.id ? 'Joining…' : 'Join'}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </Dialog>
  );
}
