import { FormEvent, useState } from 'react';
import { api, Conversation, toCommandError, User } from '../api';
import { conversationLabel } from './ChatView';

interface Props {
  me: number;
  users: Map<number, User>;
  conversations: Conversation[];
  selected: number | null;
  onSelect: (id: number) => void;
  onOpened: (c: Conversation) => void;
  /** Opens the Settings dialog (the gear at the bottom). */
  onOpenSettings?: () => void;
}

const SECTIONS: { kind: Conversation['kind']; title: string }[] = [
  { kind: 'channel', title: 'Channels' },
  { kind: 'group', title: 'Groups' },
  { kind: 'direct', title: 'Direct messages' },
];

/** Conversations by kind (most recently active first), with unread and mention badges, and the
 * two ways to start something: a direct message by username, or joining a team by invite code. */
export function Sidebar({ me, users, conversations, selected, onSelect, onOpened, onOpenSettings }: Props) {
  return (
    <nav className="sidebar" aria-label="Conversations">
      {SECTIONS.map(({ kind, title }) => {
        const items = conversations.filter((c) => c.kind === kind);
        if (items.length === 0) return null;
        return (
          <section key={kind}>
            <h2>{title}</h2>
            <ul>
              {items.map((c) => {
                const label = conversationLabel(c, me, users);
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
              })}
            </ul>
          </section>
        );
      })}
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
        run={async (value) => {
          const team = await api.joinInvite(value);
          const list = await api.conversations();
          const general = list.find((c) => c.id === team.default_channel_id);
          if (!general) throw { code: 'not_found', message: 'The team has no #general channel.' };
          return general;
        }}
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
