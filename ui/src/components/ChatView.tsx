import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  api,
  AppStatus,
  ConnectionState,
  Conversation,
  EngineEvent,
  onEngineEvent,
  onOpenMessage,
  toCommandError,
  User,
} from '../api';
import { Logo } from './Logo';
import { ConnectionBanner } from './ConnectionBanner';
import { ConversationPane } from './ConversationPane';
import { Sidebar } from './Sidebar';
import { SearchPanel } from './SearchPanel';
import { QuickSwitcher } from './QuickSwitcher';
import { SettingsDialog } from './SettingsDialog';
import { focusMessage } from '../focusMessage';
import { Theme, applyTheme, savedTheme } from '../theme';

interface Props {
  user: User;
  status: AppStatus | null;
  onSignedOut: () => void;
}

/** What the conversation is called in lists and headers. */
export function conversationLabel(c: Conversation, me: number, users: Map<number, User>): string {
  switch (c.kind) {
    case 'channel':
      return `#${c.name ?? 'channel'}`;
    case 'group':
      return c.name ?? 'Group';
    case 'direct': {
      const peer = c.members.find((m) => m.user_id !== me);
      const u = peer ? users.get(peer.user_id) : undefined;
      return u ? `@${u.username}` : 'Direct message';
    }
  }
}

export function displayName(u: User | undefined): string {
  if (!u) return 'Someone';
  return u.display_name?.trim() || u.username;
}

/**
 * The signed-in app: conversations on the left, the open one on the right, a banner while offline.
 * Everything comes from the engine's cache through commands, so it shows at once without network;
 * `engine-event`s say what changed and the view re-reads just that.
 */
export function ChatView({ user, status, onSignedOut }: Props) {
  const [conversations, setConversations] = useState<Conversation[]>([]);
  const [selected, setSelected] = useState<number | null>(null);
  const [connection, setConnection] = useState<ConnectionState>(
    status?.connection ?? { state: 'connecting' },
  );
  const [users, setUsers] = useState<Map<number, User>>(() => new Map([[user.id, user]]));
  const [timelineVersion, setTimelineVersion] = useState(0);
  const [typing, setTyping] = useState<Map<number, number[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [searching, setSearching] = useState(false);
  const [switching, setSwitching] = useState(false);
  const [theme, setTheme] = useState<Theme>(savedTheme);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const selectedRef = useRef<number | null>(null);
  selectedRef.current = selected;
  const name = displayName(user);

  const learnUsers = useCallback(async (ids: number[]) => {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return;
    try {
      const found = await api.users(unique);
      setUsers((prev) => {
        const next = new Map(prev);
        for (const u of found) next.set(u.id, u);
        return next;
      });
    } catch {
      // Names are a nicety; ids still work.
    }
  }, []);

  const reload = useCallback(async () => {
    try {
      const list = await api.conversations();
      setConversations(list);
      void learnUsers(list.flatMap((c) => c.members.map((m) => m.user_id)));
    } catch (e) {
      setError(toCommandError(e).message);
    }
  }, [learnUsers]);

  useEffect(() => {
    void reload();
    api.connectionState().then(setConnection, () => undefined);
    const unlisten = onEngineEvent((event: EngineEvent) => {
      switch (event.type) {
        case 'connection': {
          const { type: _type, ...state } = event;
          setConnection(state as ConnectionState);
          if (state.state === 'live') void reload();
          break;
        }
        case 'conversations_changed':
        case 'teams_changed':
          void reload();
          break;
        case 'timeline_changed':
          if (event.conversation_id === selectedRef.current) setTimelineVersion((v) => v + 1);
          break;
        case 'outbox':
        case 'outbox_removed':
          if (event.conversation_id === selectedRef.current) setTimelineVersion((v) => v + 1);
          break;
        case 'typing':
          setTyping((prev) => new Map(prev).set(event.conversation_id, event.user_ids));
          void learnUsers(event.user_ids);
          break;
        default:
          break;
      }
    });
    return () => {
      // Unlistening fails only when the app (or a test's fake of it) is already gone.
      unlisten.then((f) => f()).catch(() => undefined);
    };
  }, [reload, learnUsers]);

  useEffect(() => applyTheme(theme), [theme]);

  // The app alerts only about what is not on screen: tell it what is.
  useEffect(() => {
    void api.setViewing(selected).catch(() => undefined);
    return () => void api.setViewing(null).catch(() => undefined);
  }, [selected]);

  // A clicked desktop notification: open its conversation at its message.
  useEffect(() => {
    let cancelStep: (() => void) | null = null;
    const unlisten = onOpenMessage((target) => {
      setSearching(false);
      setSwitching(false);
      void reload().then(() => {
        setSelected(target.conversationId);
        cancelStep?.();
        if (target.messageId !== null) cancelStep = focusMessage(target.messageId);
      });
    });
    return () => {
      cancelStep?.();
      unlisten.then((f) => f()).catch(() => undefined);
    };
  }, [reload]);

  useEffect(() => {
    function onKey(e: globalThis.KeyboardEvent) {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setSwitching(true);
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const current = useMemo(
    () => conversations.find((c) => c.id === selected) ?? null,
    [conversations, selected],
  );

  async function logout() {
    setBusy(true);
    setError(null);
    try {
      await api.logout();
      onSignedOut();
    } catch (e) {
      const err = toCommandError(e);
      // The session is forgotten locally even when the server could not be told.
      if (err.code === 'server_unreachable') {
        onSignedOut();
        return;
      }
      setError(err.message);
      setBusy(false);
    }
  }

  return (
    <div className="app-shell chat" data-testid="signed-in">
      <header className="topbar">
        <div className="brand">
          <Logo size={28} />
          <span>Jeco Chat</span>
        </div>
        <div className="topbar-right">
          {status?.serverAddress && (
            <span className="server-pill" title="Server">
              <span
                className={`dot ${connection.state === 'live' ? 'live' : 'offline'}`}
                aria-hidden="true"
              />
              {status.mode === 'embedded' ? 'Built-in server' : status.serverAddress}
            </span>
          )}
          <button
            type="button"
            className="secondary small"
            data-testid="open-search"
            aria-pressed={searching}
            onClick={() => setSearching((v) => !v)}
          >
            Search
          </button>
          <select
            aria-label="Theme"
            className="theme-select"
            value={theme}
            onChange={(e) => setTheme(e.target.value as Theme)}
          >
            <option value="system">System theme</option>
            <option value="light">Light</option>
            <option value="dark">Dark</option>
          </select>
          <span className="me" title={`@${user.username}`}>
            {name}
          </span>
          <button type="button" className="secondary" data-testid="logout" onClick={logout} disabled={busy}>
            {busy ? 'Signing out…' : 'Log out'}
          </button>
        </div>
      </header>
      <ConnectionBanner state={connection} onRetry={() => void api.reconnectNow()} onSignIn={onSignedOut} />
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <div className="chat-body">
        <Sidebar
          me={user.id}
          users={users}
          conversations={conversations}
          selected={selected}
          onSelect={setSelected}
          onOpened={(c) => {
            void reload().then(() => setSelected(c.id));
          }}
          onOpenSettings={() => setSettingsOpen(true)}
        />
        <main className="chat-main">
          {searching && (
            <SearchPanel
              me={user.id}
              users={users}
              conversations={conversations}
              onOpen={(id) => {
                setSelected(id);
                setSearching(false);
              }}
              onClose={() => setSearching(false)}
            />
          )}
          {current ? (
            <ConversationPane
              key={current.id}
              conversation={current}
              me={user.id}
              users={users}
              version={timelineVersion}
              typing={typing.get(current.id) ?? []}
              onUnknownUsers={learnUsers}
            />
          ) : (
            <div className="welcome">
              <div className="avatar" aria-hidden="true">
                {name.slice(0, 1).toUpperCase()}
              </div>
              <h1 data-testid="welcome">Welcome, {name}!</h1>
              <p className="muted">
                Signed in as <strong>@{user.username}</strong>
                {status?.serverAddress ? <> on {status.serverAddress}</> : null}
              </p>
              <p className="muted">
                {conversations.length === 0
                  ? 'No conversations yet: start a direct message or join a team on the left.'
                  : 'Pick a conversation on the left.'}
              </p>
            </div>
          )}
        </main>
      </div>
      {settingsOpen && (
        <SettingsDialog theme={theme} onTheme={setTheme} onClose={() => setSettingsOpen(false)} />
      )}
      {switching && (
        <QuickSwitcher
          me={user.id}
          users={users}
          conversations={conversations}
          onPick={(id) => {
            setSelected(id);
            setSwitching(false);
          }}
          onClose={() => setSwitching(false)}
        />
      )}
    </div>
  );
}
