import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import {
  api,
  AppStatus,
  ConnectionState,
  Conversation,
  EngineEvent,
  FirstScreen,
  InboxItem,
  PresenceStatus,
  loadLimits,
  onEngineEvent,
  Team,
  onOpenMessage,
  toCommandError,
  User,
} from '../api';
import { Avatar } from './Avatar';
import { ContactsDialog } from './ContactsDialog';
import { ProfileDialog } from './ProfileDialog';
import { TeamDialog } from './TeamDialog';
import { Dialog } from './Dialog';
import { HostingPanel } from './HostingPanel';
import { NotificationsPanel } from './NotificationsPanel';
import { Upload, UploadProgress } from './UploadProgress';
import { Logo } from './Logo';
import { ConnectionBanner } from './ConnectionBanner';
import { ConversationPane, FocusTarget } from './ConversationPane';
import { Sidebar } from './Sidebar';
import { useCoalesced } from './useCoalesced';
import { SidebarToggle, saveSidebarHidden, savedSidebarHidden } from './SidebarToggle';
import { SearchPanel } from './SearchPanel';
import { QuickSwitcher } from './QuickSwitcher';
import { SettingsDialog } from './SettingsDialog';
import { AdminPanel } from './admin/AdminPanel';
import { Theme, applyTheme, savedTheme } from '../theme';
import { PeopleContext } from './people/PeopleContext';
import { ProfileCard } from './people/ProfileCard';
import { ThreadsButton } from './threads/ThreadsButton';
import { ThreadsPanel } from './threads/ThreadsPanel';
import { useThreads } from './threads/useThreads';
import { measuringStartup, startupStep } from '../startup';

interface Props {
  user: User;
  status: AppStatus | null;
  /** What the window shows first, read before it was drawn (see `firstScreen`). */
  first?: FirstScreen | null;
  /** Back to the sign-in screen; `reason` when the person did not ask for it. */
  onSignedOut: (reason?: string) => void;
}

/** Said on the sign-in screen when the session ended elsewhere (close code 4008 and kin). */
export const SIGNED_OUT_ELSEWHERE =
  'You were signed out: this device was signed out from another device, or by a password change or reset. Sign in again to continue.';

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
export function ChatView({ user: signedIn, status: initialStatus, first = null, onSignedOut }: Props) {
  startupStep('chat view renders');
  // While start-up is measured: when the first screen is in the document and when it is laid out
  // (style and layout, fonts included: the launch breakdown in BENCHMARKS.md).
  useLayoutEffect(() => {
    if (!measuringStartup()) return;
    startupStep('chat view in the document');
    void document.body.getBoundingClientRect();
    startupStep('laid out');
  }, []);
  const [status, setStatus] = useState<AppStatus | null>(initialStatus);
  // The profile can change here (the profile dialog); everything below shows the newest one.
  const [user, setUser] = useState<User>(signedIn);
  const [teams, setTeams] = useState<Team[]>([]);
  const [inbox, setInbox] = useState<InboxItem[]>([]);
  const [showInbox, setShowInbox] = useState(false);
  // Live presence from the engine's events, over what the conversation list last said.
  const [presence, setPresence] = useState<Map<number, PresenceStatus>>(new Map());
  const [uploads, setUploads] = useState<Map<number, Upload>>(new Map());
  const [dialog, setDialog] = useState<
    | { kind: 'profile' }
    | { kind: 'contacts' }
    | { kind: 'server' }
    | { kind: 'admin' }
    | { kind: 'team'; team: Team }
    | null
  >(null);
  const [conversations, setConversations] = useState<Conversation[]>(first?.conversations ?? []);
  const [selected, setSelected] = useState<number | null>(first?.selected ?? null);
  // The first screen's page is for the first pane only: a later visit reads afresh.
  const [firstPage, setFirstPage] = useState(first?.page ?? null);
  useEffect(() => {
    if (firstPage && selected !== first?.selected) setFirstPage(null);
  }, [selected, first, firstPage]);
  const [connection, setConnection] = useState<ConnectionState>(
    status?.connection ?? { state: 'connecting' },
  );
  const [users, setUsers] = useState<Map<number, User>>(() => new Map([[user.id, user]]));
  const [timelineVersion, setTimelineVersion] = useState(0);
  // Bumped by changes anywhere that may change the Threads view (new replies, a thread shown).
  const [threadsVersion, setThreadsVersion] = useState(0);
  const [showThreads, setShowThreads] = useState(false);
  const [sidebarHidden, setSidebarHidden] = useState(savedSidebarHidden);
  const [profileOf, setProfileOf] = useState<number | null>(null);
  const people = useMemo(() => ({ showProfile: setProfileOf }), []);
  const [typing, setTyping] = useState<Map<number, number[]>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [searching, setSearching] = useState(false);
  const [switching, setSwitching] = useState(false);
  const onSignedOutRef = useRef(onSignedOut);
  onSignedOutRef.current = onSignedOut;
  // Set while "Log out" runs, whose own end of the session is no news to the person.
  const loggingOut = useRef(false);
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
      // Only a real change makes a new map: every open message row reads it, and most re-reads
      // (one per incoming message) find nothing new.
      setUsers((prev) => {
        const changed = found.filter((u) => JSON.stringify(prev.get(u.id)) !== JSON.stringify(u));
        if (changed.length === 0) return prev;
        const next = new Map(prev);
        for (const u of changed) next.set(u.id, u);
        return next;
      });
    } catch {
      // Names are a nicety; ids still work.
    }
  }, []);

  const reloadNow = useCallback(async () => {
    try {
      const [list, teamList, notifications] = await Promise.all([
        api.conversations(),
        api.teams(),
        api.inbox(),
      ]);
      startupStep('conversations');
      setConversations(list);
      setTeams(teamList);
      setInbox(notifications);
      void learnUsers(list.flatMap((c) => c.members.map((m) => m.user_id)));
    } catch (e) {
      setError(toCommandError(e).message);
    }
  }, [learnUsers]);
  // Re-reads coalesce: a burst of events (a busy team sends several per message) costs one
  // re-read while one is running, not one each — fewer IPC answers to parse and drop.
  const reload = useCoalesced(reloadNow);

  useEffect(() => {
    startupStep('chat view');
    // A connection event heard is newer than any state asked for before it arrived.
    let heardState = false;
    const unlisten = onEngineEvent((event: EngineEvent) => {
      switch (event.type) {
        case 'connection': {
          heardState = true;
          const { type: _type, ...state } = event;
          setConnection(state as ConnectionState);
          if (state.state === 'live') {
            void reload();
            // Each connection's `ready` told the engine this server's limits.
            void loadLimits().catch(() => undefined);
          }
          // The session ended on the server while in use: another device signed this one out,
          // or the password was reset. Nothing works signed out, so go back to sign in and say why.
          if (state.state === 'signed_out' && !loggingOut.current)
            onSignedOutRef.current(SIGNED_OUT_ELSEWHERE);
          break;
        }
        case 'conversations_changed':
        case 'teams_changed':
        case 'notification':
          void reload();
          break;
        case 'read_receipt':
        case 'timeline_changed':
          if (event.conversation_id === selectedRef.current) setTimelineVersion((v) => v + 1);
          if (event.type === 'timeline_changed' && event.seqs.length > 0) setThreadsVersion((v) => v + 1);
          break;
        case 'thread_read':
          setThreadsVersion((v) => v + 1);
          break;
        case 'outbox':
        case 'outbox_removed':
          if (event.type === 'outbox_removed' || event.state === 'failed') {
            const done = event.id;
            setUploads((prev) => {
              if (!prev.has(done)) return prev;
              const next = new Map(prev);
              next.delete(done);
              return next;
            });
          }
          if (event.conversation_id === selectedRef.current) setTimelineVersion((v) => v + 1);
          break;
        case 'upload_progress': {
          const upload: Upload = {
            outboxId: event.outbox_id,
            conversationId: event.conversation_id,
            file: event.file,
            sent: event.sent,
            total: event.total,
          };
          setUploads((prev) => new Map(prev).set(upload.outboxId, upload));
          break;
        }
        case 'presence':
          setPresence((prev) => new Map(prev).set(event.user_id, event.status));
          break;
        case 'typing':
          setTyping((prev) => new Map(prev).set(event.conversation_id, event.user_ids));
          void learnUsers(event.user_ids);
          break;
        default:
          break;
      }
    });
    // Read the list and the connection state only once the listener is in place: a change in
    // between would otherwise be missed (seen as an app stuck on "Catching up…" while live).
    const settle = () => {
      startupStep('listening');
      void reload();
      api.connectionState().then(
        (state) => {
          if (!heardState) setConnection(state);
        },
        () => undefined,
      );
    };
    unlisten.then(settle, settle);
    return () => {
      // Unlistening fails only when the app (or a test's fake of it) is already gone.
      unlisten.then((f) => f()).catch(() => undefined);
    };
  }, [reload, learnUsers]);

  // The window opens on the conversation that was open last time, drawn from the cache: the
  // first thing a person sees after a launch is where they left off (also with no server).
  useEffect(() => {
    let cancelled = false;
    api.lastOpened().then(
      (id) => {
        startupStep('last_opened');
        if (!cancelled && id !== null) setSelected((current) => current ?? id);
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, []);

  useEffect(() => applyTheme(theme), [theme]);

  // The web view hears the OS say the network is back (on every platform): try at once instead of
  // waiting out the backoff. (On Unix the engine also watches the interfaces itself.)
  useEffect(() => {
    const online = () => void api.reconnectNow().catch(() => undefined);
    window.addEventListener('online', online);
    return () => window.removeEventListener('online', online);
  }, []);

  // What is on screen, as facts: the open conversation and the newest message shown in it. The
  // engine decides from them (and the window's focus) what is read, with the notifications about
  // it, and the app alerts only about what is not on screen.
  const [shown, setShown] = useState<{ conversationId: number; seq: number | null } | null>(null);
  const newestShown = useCallback(
    (seq: number | null) => {
      if (selected !== null) setShown({ conversationId: selected, seq });
    },
    [selected],
  );
  const newestOnScreen = shown !== null && shown.conversationId === selected ? shown.seq : null;
  useEffect(() => {
    void api.setViewing(selected, newestOnScreen).catch(() => undefined);
  }, [selected, newestOnScreen]);
  useEffect(() => () => void api.setViewing(null, null).catch(() => undefined), []);

  // A clicked desktop notification (or one in the panel): open its conversation at its message.
  const [focus, setFocus] = useState<FocusTarget | null>(null);
  const openAt = useCallback(
    (conversationId: number, messageId: number | null, seq: number | null, keepSearch = false) => {
      // From a search hit the results stay, so the next hit is one click away.
      if (!keepSearch) setSearching(false);
      setSwitching(false);
      setShowInbox(false);
      void reload().then(() => {
        setSelected(conversationId);
        setFocus(messageId === null ? null : { messageId, seq, nonce: Date.now() });
      });
    },
    [reload],
  );
  const openThread = useCallback((conversationId: number, root: number) => {
    setShowThreads(false);
    setSearching(false);
    setShowInbox(false);
    setSelected(conversationId);
    setFocus({ messageId: root, seq: null, nonce: Date.now(), thread: true });
  }, []);
  useEffect(() => {
    const unlisten = onOpenMessage((target) => openAt(target.conversationId, target.messageId, target.seq));
    return () => {
      unlisten.then((f) => f()).catch(() => undefined);
    };
  }, [openAt]);

  const toggleSidebar = useCallback(() => {
    setSidebarHidden((hidden) => {
      saveSidebarHidden(!hidden);
      return !hidden;
    });
  }, []);

  useEffect(() => {
    function onKey(e: globalThis.KeyboardEvent) {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setSwitching(true);
      } else if ((e.ctrlKey || e.metaKey) && e.shiftKey && e.key.toLowerCase() === 'd') {
        e.preventDefault();
        toggleSidebar();
      }
    }
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [toggleSidebar]);

  // From the server while the link is up (catching up included, when new replies arrive in
  // bursts); offline the engine answers with the list as last seen.
  const threadsState = useThreads(
    threadsVersion,
    connection.state === 'live' || connection.state === 'catching_up',
    learnUsers,
  );

  /** A user's presence as the conversation list last said (their direct conversation's). */
  function presenceInList(userId: number): PresenceStatus | undefined {
    const direct = conversations.find(
      (c) => c.kind === 'direct' && c.members.some((m) => m.user_id === userId && userId !== user.id),
    );
    return direct?.peer_presence ?? undefined;
  }

  const current = useMemo(
    () => conversations.find((c) => c.id === selected) ?? null,
    [conversations, selected],
  );

  async function logout() {
    setBusy(true);
    setError(null);
    loggingOut.current = true;
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
      loggingOut.current = false;
      setError(err.message);
      setBusy(false);
    }
  }

  return (
    <PeopleContext.Provider value={people}>
      <div className="app-shell chat" data-testid="signed-in">
        <header className="topbar">
          <div className="brand">
            <SidebarToggle hidden={sidebarHidden} onToggle={toggleSidebar} />
            <Logo size={28} />
            <span className="brand-name">Jeco Chat</span>
          </div>
          <div className="topbar-right">
            {status?.serverAddress && (
              <button
                type="button"
                className="server-pill"
                title={status.mode === 'embedded' ? 'Built-in server: host it for your team' : 'Server'}
                aria-label={status.mode === 'embedded' ? 'Built-in server' : `Server ${status.serverAddress}`}
                data-testid="server-pill"
                disabled={status.mode !== 'embedded'}
                onClick={() => setDialog({ kind: 'server' })}
              >
                <span
                  className={`dot ${connection.state === 'live' ? 'live' : 'offline'}`}
                  aria-hidden="true"
                />
                <span className="pill-label">
                  {status.mode === 'embedded'
                    ? status.embedded.hosting
                      ? 'Hosting for your network'
                      : 'Built-in server'
                    : status.serverAddress}
                </span>
              </button>
            )}
            <button
              type="button"
              className="secondary small bell"
              data-testid="open-notifications"
              aria-pressed={showInbox}
              aria-label={`Notifications, ${inbox.filter((i) => !i.read).length} unread`}
              onClick={() => setShowInbox((v) => !v)}
            >
              <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
                <path
                  d="M8 1.5a4 4 0 0 0-4 4v2.8L2.6 11h10.8L12 8.3V5.5a4 4 0 0 0-4-4zM6.3 12.5a1.8 1.8 0 0 0 3.4 0"
                  fill="none"
                  stroke="currentColor"
                  strokeWidth="1.4"
                />
              </svg>
              {inbox.some((i) => !i.read) && (
                <span className="badge mention" data-testid="notifications-unread">
                  {inbox.filter((i) => !i.read).length}
                </span>
              )}
            </button>
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
            <button
              type="button"
              className="me secondary"
              title={`@${user.username}`}
              aria-label="Your profile"
              data-testid="open-profile"
              onClick={() => setDialog({ kind: 'profile' })}
            >
              <Avatar user={user} size={24} />
              <span>{name}</span>
            </button>
            <button type="button" className="secondary" data-testid="logout" onClick={logout} disabled={busy}>
              {busy ? 'Signing out…' : 'Log out'}
            </button>
          </div>
        </header>
        <ConnectionBanner
          state={connection}
          onRetry={() => void api.reconnectNow()}
          onSignIn={() => onSignedOut()}
          builtInStopped={status?.mode === 'embedded' && status.embedded.state === 'stopped'}
          onStartBuiltIn={() =>
            void api.setEmbeddedRunning(true).then(
              (next) => {
                setStatus(next);
                void api.reconnectNow();
              },
              () => undefined,
            )
          }
        />
        {error && (
          <div className="banner error" role="alert">
            {error}
          </div>
        )}
        <div className="chat-body">
          {!sidebarHidden && (
            <Sidebar
              me={user.id}
              users={users}
              conversations={conversations}
              selected={selected}
              onSelect={setSelected}
              onOpened={(c) => {
                void reload().then(() => setSelected(c.id));
              }}
              teams={teams}
              presence={presence}
              live={connection.state === 'live'}
              onManageTeam={(team) => setDialog({ kind: 'team', team })}
              onContacts={() => setDialog({ kind: 'contacts' })}
              onOpenSettings={() => setSettingsOpen(true)}
              onOpenAdmin={user.is_admin ? () => setDialog({ kind: 'admin' }) : undefined}
              above={
                <ThreadsButton
                  unread={threadsState.unread}
                  open={showThreads}
                  onToggle={() => setShowThreads((v) => !v)}
                />
              }
            />
          )}
          <main className="chat-main">
            {showThreads && (
              <ThreadsPanel
                me={user.id}
                users={users}
                conversations={conversations}
                threads={threadsState.threads}
                error={threadsState.error}
                offline={threadsState.offline}
                onOpen={openThread}
                onClose={() => setShowThreads(false)}
              />
            )}
            {showInbox && (
              <NotificationsPanel
                me={user.id}
                users={users}
                conversations={conversations}
                items={inbox}
                onChanged={() => void reload()}
                onOpen={(conversationId, messageId) => openAt(conversationId, messageId, null)}
                onClose={() => setShowInbox(false)}
              />
            )}
            {searching && (
              <SearchPanel
                me={user.id}
                users={users}
                conversations={conversations}
                current={current ?? null}
                onOpen={(conversationId, messageId, seq) => openAt(conversationId, messageId, seq, true)}
                onClose={() => setSearching(false)}
              />
            )}
            {current && (
              <UploadProgress
                uploads={[...uploads.values()].filter((u) => u.conversationId === current.id)}
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
                focus={focus}
                initialPage={first?.selected === current.id ? firstPage : null}
                onNewestShown={newestShown}
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
        {dialog?.kind === 'profile' && (
          <ProfileDialog
            user={user}
            onClose={() => setDialog(null)}
            onSaved={(u) => {
              setUser(u);
              setUsers((prev) => new Map(prev).set(u.id, u));
            }}
          />
        )}
        {dialog?.kind === 'server' && status && (
          <Dialog title="Built-in server" onClose={() => setDialog(null)} testId="server-dialog">
            <HostingPanel status={status} onStatusChange={setStatus} />
          </Dialog>
        )}
        {dialog?.kind === 'admin' && (
          <AdminPanel
            me={user}
            onClose={() => setDialog(null)}
            onMeChanged={(u) => {
              setUser(u);
              setUsers((prev) => new Map(prev).set(u.id, u));
              // No longer an admin: the panel is not theirs any more.
              if (!u.is_admin) setDialog(null);
            }}
          />
        )}
        {dialog?.kind === 'contacts' && (
          <ContactsDialog
            onClose={() => setDialog(null)}
            onOpened={(c) => {
              void reload().then(() => setSelected(c.id));
            }}
          />
        )}
        {dialog?.kind === 'team' && (
          <TeamDialog
            team={teams.find((t) => t.id === dialog.team.id) ?? dialog.team}
            me={user.id}
            onClose={() => setDialog(null)}
            onChanged={() => void reload()}
            onOpenChannel={(id) => {
              void reload().then(() => setSelected(id));
            }}
          />
        )}
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
        {profileOf !== null && (
          <ProfileCard
            user={users.get(profileOf)}
            me={user.id}
            presence={
              connection.state === 'live' ? (presence.get(profileOf) ?? presenceInList(profileOf)) : undefined
            }
            onOpened={(c) => {
              void reload().then(() => setSelected(c.id));
            }}
            onClose={() => setProfileOf(null)}
          />
        )}
      </div>
    </PeopleContext.Provider>
  );
}
