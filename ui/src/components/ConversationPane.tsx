import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  api,
  Conversation,
  Message,
  onEngineEvent,
  ReadReceipt,
  Timeline as TimelinePage,
  TimelineItem,
  toCommandError,
  User,
} from '../api';
import { conversationLabel, displayName } from './ChatView';
import { Composer, Editing } from './Composer';
import { Dialog } from './Dialog';
import { ImageGallery } from './ImageViewer';
import { plainText } from './markdown/plainText';
import type { MessageActions } from './MessageItem';
import { MuteToggle } from './MuteToggle';
import { PinnedPanel } from './PinnedPanel';
import { ThreadPanel } from './ThreadPanel';
import { Timeline, TimelineHandle } from './Timeline';
import { keyOf, refOf, seqOf } from './timelineFormat';
import { applyWindowDiffs, WindowState } from './timelineWindow';
import { startupStep } from '../startup';
import './timeline.css';

interface Props {
  conversation: Conversation;
  me: number;
  users: Map<number, User>;
  /** Bumped when the engine says this timeline changed (read receipts, the side panels re-read). */
  version: number;
  typing: number[];
  onUnknownUsers: (ids: number[]) => void;
  /** A message to bring into view and highlight (a clicked notification); a new `nonce` repeats it. */
  focus?: FocusTarget | null;
  /** Its newest page, already read (the app's first screen): shown at once, then re-read. */
  initialPage?: TimelinePage | null;
  /**
   * Told the `seq` of the newest confirmed message on screen (`null`: none) when it changes: the
   * engine decides from it what is read, so the pane never marks anything read itself.
   */
  onNewestShown?: (seq: number | null) => void;
}

/** Where a notification points: the message, and its `seq` when known (so older pages can load). */
export interface FocusTarget {
  messageId: number;
  seq: number | null;
  nonce: number;
  /** Also open the message's thread beside the timeline (from the Threads view). */
  thread?: boolean;
}

/** What the first screen reads of the open conversation (the engine's window page, 50). */
export const PAGE = 50;

type Side = { kind: 'thread'; root: number } | { kind: 'pins' } | null;

/** The engine's window of this conversation, as its diffs built it (`loaded`: one arrived). */
interface ShownWindow extends WindowState {
  loaded: boolean;
}

/**
 * Window commands of one conversation run one after another: a pane closed and opened again at
 * once (a remount) must not have its close overtake its open.
 */
const windowOps = new Map<number, Promise<unknown>>();
function inOrder<T>(id: number, op: () => Promise<T>): Promise<T> {
  const next = (windowOps.get(id) ?? Promise.resolve()).then(op, op);
  windowOps.set(
    id,
    next.catch(() => undefined),
  );
  return next;
}

/**
 * One conversation: header (pinned panel toggle), the virtualized timeline, the typing line, the
 * composer (reply quote bar, @mentions, emoji), and a side panel for a thread or the pins.
 *
 * The timeline is the engine's window of the conversation (`jeco_client` `engine/window`): the
 * pane opens it, applies the engine's `window` diffs to its copy, and asks for older messages, a
 * jump, or the newest; it says whether the reader follows the newest. It never merges pages,
 * de-duplicates or trims (the engine keeps the window bounded while the reader follows).
 */
export function ConversationPane({
  conversation,
  me,
  users,
  version,
  typing,
  onUnknownUsers,
  focus = null,
  initialPage = null,
  onNewestShown,
}: Props) {
  const id = conversation.id;
  // A page read before the pane existed (the app's first screen) is drawn in the first frame.
  const [win, setWin] = useState<ShownWindow>(() =>
    initialPage
      ? { items: initialPage.items, hasMore: initialPage.has_more_before, loaded: true }
      : { items: [], hasMore: false, loaded: false },
  );
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [replyTo, setReplyTo] = useState<TimelineItem | null>(null);
  const [side, setSide] = useState<Side>(null);
  // A delete waits for a yes: it cannot be undone, and others may already have read the message.
  const [confirmDelete, setConfirmDelete] = useState<TimelineItem | null>(null);
  const [fetchedParents, setFetchedParents] = useState<Map<number, Message>>(new Map());
  const [receipts, setReceipts] = useState<ReadReceipt[]>([]);
  const [highlightKey, setHighlightKey] = useState<string | null>(null);
  const [dropped, setDropped] = useState<File[]>([]);
  const [dragging, setDragging] = useState(false);
  // Where the reader was when the conversation was opened: the "new messages" line stays there.
  const [readAt] = useState(conversation.read_seq);
  const [unreadAtOpen] = useState(conversation.unread_count);
  const timeline = useRef<TimelineHandle>(null);
  const pendingJump = useRef<string | null>(null);
  const loadingOlderRef = useRef(false);
  const askedParents = useRef(new Set<number>());
  const highlightTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const droppedTaken = useCallback(() => setDropped([]), []);

  const items = win.items;

  // The window: opened once the listener is in place (its first diff is the whole window), its
  // diffs applied as they come, closed with the pane.
  useEffect(() => {
    let live = true;
    const unlisten = onEngineEvent((event) => {
      if (!live || event.type !== 'window' || event.conversation_id !== id) return;
      setWin((prev) => {
        const next = applyWindowDiffs(prev, event.diffs);
        return next === prev && prev.loaded ? prev : { ...next, loaded: true };
      });
    });
    void unlisten
      .then(() => inOrder(id, () => api.openWindow(id)))
      .then(
        () => {
          startupStep('timeline');
          // Opened at the first unread message, the reader does not start at the newest.
          if (live && timeline.current && !timeline.current.following())
            void inOrder(id, () => api.windowFollowing(id, false)).catch(() => undefined);
        },
        (e) => live && setError(toCommandError(e).message),
      );
    return () => {
      live = false;
      unlisten.then((stop) => stop()).catch(() => undefined);
      void inOrder(id, () => api.closeWindow(id)).catch(() => undefined);
    };
  }, [id]);

  // Senders not known yet are looked up; receipts are re-read when the engine says the timeline
  // changed.
  useEffect(() => {
    onUnknownUsers(items.map((i) => i.message.sender_id));
  }, [items, onUnknownUsers]);
  useEffect(() => {
    api.readReceipts(id).then(setReceipts, () => undefined);
  }, [id, version]);

  /**
   * Asks the engine for more history (`load`); the items arrive as diffs. An older page asked while
   * one is loading is dropped (the list asks again); a jump (`queue`) waits for it and then goes.
   */
  const loading = useRef<Promise<unknown>>(Promise.resolve());
  const loadingWhile = useCallback(async (load: () => Promise<unknown>, queue = false) => {
    if (loadingOlderRef.current) {
      if (!queue) return;
      await loading.current.catch(() => undefined);
    }
    loadingOlderRef.current = true;
    setLoadingOlder(true);
    try {
      loading.current = load();
      await loading.current;
    } catch (e) {
      setError(toCommandError(e).message);
    } finally {
      loadingOlderRef.current = false;
      setLoadingOlder(false);
    }
  }, []);

  const loadOlder = useCallback(() => void loadingWhile(() => api.windowLoadOlder(id)), [id, loadingWhile]);
  const followingChanged = useCallback(
    (following: boolean) => void inOrder(id, () => api.windowFollowing(id, following)).catch(() => undefined),
    [id],
  );

  // Quoted parents: those in the timeline, and the rest fetched once (cache, then server).
  const parents = useMemo(() => {
    const map = new Map(fetchedParents);
    for (const i of items) if (i.id.kind === 'sent') map.set(i.id.id, i.message);
    return map;
  }, [items, fetchedParents]);
  useEffect(() => {
    const missing = [
      ...new Set(
        items
          .map((i) => i.message.reply_to)
          .filter((p): p is number => p !== null && !parents.has(p) && !askedParents.current.has(p)),
      ),
    ].slice(0, 200);
    if (missing.length === 0) return;
    missing.forEach((p) => askedParents.current.add(p));
    api.messages(id, missing).then(
      (found) => {
        onUnknownUsers(found.map((m) => m.sender_id));
        setFetchedParents((prev) => {
          const next = new Map(prev);
          for (const m of found) next.set(m.id, m);
          return next;
        });
      },
      () => undefined,
    );
  }, [items, parents, id, onUnknownUsers]);

  // Read receipts: each other member under the last loaded message they have read.
  const readers = useMemo(() => {
    const synced = items.filter((i) => seqOf(i) !== null);
    const map = new Map<string, number[]>();
    for (const r of receipts) {
      if (r.user_id === me || synced.length === 0 || r.read_seq < seqOf(synced[0])!) continue;
      let lo = 0;
      let hi = synced.length - 1;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (seqOf(synced[mid])! <= r.read_seq) lo = mid;
        else hi = mid - 1;
      }
      const key = keyOf(synced[lo]);
      map.set(key, [...(map.get(key) ?? []), r.user_id]);
    }
    return map;
  }, [items, receipts, me]);

  // The first message that was unread when the conversation was opened.
  const oldestSeq = firstSeq(items) ?? Infinity;
  const unreadNotLoaded = unreadAtOpen > 0 && win.hasMore && oldestSeq > readAt + 1;
  const firstUnreadKey = useMemo(() => {
    if (unreadAtOpen === 0 || unreadNotLoaded) return null;
    const first = items.find((i) => (seqOf(i) ?? -Infinity) > readAt && i.message.sender_id !== me);
    return first ? keyOf(first) : null;
  }, [items, readAt, unreadAtOpen, unreadNotLoaded, me]);

  function flash(key: string) {
    setHighlightKey(key);
    if (highlightTimer.current) clearTimeout(highlightTimer.current);
    highlightTimer.current = setTimeout(() => setHighlightKey(null), 2500);
  }

  useEffect(() => {
    const want = pendingJump.current === 'unread' ? firstUnreadKey : pendingJump.current;
    if (want && timeline.current?.showKey(want)) {
      flash(want);
      pendingJump.current = null;
    }
  }, [items, firstUnreadKey]);

  useEffect(
    () => () => {
      if (highlightTimer.current) clearTimeout(highlightTimer.current);
    },
    [],
  );

  async function jumpTo(m: Message) {
    const key = `m${m.id}`;
    if (timeline.current?.showKey(key)) {
      flash(key);
      return;
    }
    pendingJump.current = key;
    await loadingWhile(() => api.windowJump(id, m.id), true);
  }

  // A clicked notification: to its message, loading back through history when needed (the seq is
  // looked up when the notification did not carry it), or to its thread when it is a reply kept
  // there.
  useEffect(() => {
    if (!focus || !win.loaded) return;
    if (focus.thread) setSide({ kind: 'thread', root: focus.messageId });
    let cancelled = false;
    void (async () => {
      let seq = focus.seq;
      let target: Message | undefined;
      try {
        target = (await api.messages(id, [focus.messageId]))[0];
      } catch {
        // Unknown offline: the conversation is open, which is the best there is.
      }
      // A reply kept in its thread is not in the timeline: show it in its thread instead.
      if (!cancelled && target?.thread_only && target.reply_to !== null) {
        setSide({ kind: 'thread', root: target.reply_to });
        return;
      }
      seq = seq ?? target?.seq ?? null;
      if (!cancelled && seq !== null) await jumpTo({ id: focus.messageId, seq } as Message);
    })();
    return () => {
      cancelled = true;
    };
    // Runs once per request (its nonce), when the first page is in.
  }, [focus?.nonce, win.loaded]);

  async function jumpToUnread() {
    if (firstUnreadKey && timeline.current?.showKey(firstUnreadKey)) return;
    pendingJump.current = 'unread';
    await loadingWhile(() => api.windowReach(id, readAt + 1), true);
  }

  async function act(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(toCommandError(e).message);
    }
  }

  const actionsImpl = useRef<MessageActions | null>(null);
  actionsImpl.current = {
    react: (item, emoji, add) => void act(() => api.react(id, refOf(item), emoji, add)),
    edit: (item) => {
      setReplyTo(null);
      setEditing({ target: refOf(item), text: item.message.text });
    },
    remove: (item) => setConfirmDelete(item),
    retry: (outboxId) => void act(() => api.retryOutbox(outboxId)),
    discard: (outboxId) => void act(() => api.discardOutbox(outboxId)),
    reply: (item) => {
      setEditing(null);
      setReplyTo(item);
    },
    openThread: (item) => setSide({ kind: 'thread', root: item.message.id }),
    pin: (item, pinned) => void act(() => api.setPinned(id, item.message.id, pinned)),
    jumpTo: (m) => void jumpTo(m),
  };
  // One stable object for the whole life of the pane (so unchanged messages do not re-render),
  // calling the latest handlers.
  const actions = useMemo<MessageActions>(() => {
    const latest = () => actionsImpl.current as MessageActions;
    return {
      react: (...a) => latest().react(...a),
      edit: (...a) => latest().edit(...a),
      remove: (...a) => latest().remove(...a),
      retry: (...a) => latest().retry(...a),
      discard: (...a) => latest().discard(...a),
      reply: (...a) => latest().reply(...a),
      openThread: (...a) => latest().openThread(...a),
      pin: (...a) => latest().pin(...a),
      jumpTo: (...a) => latest().jumpTo(...a),
    };
  }, []);

  const editLast = () => {
    const mine = [...items].reverse().find((i) => i.message.sender_id === me && !i.message.deleted);
    if (!mine) return false;
    setReplyTo(null);
    setEditing({ target: refOf(mine), text: mine.message.text });
    return true;
  };

  const members = useMemo(
    () =>
      conversation.members
        .filter((m) => m.user_id !== me)
        .map((m) => users.get(m.user_id))
        .filter((u): u is User => u !== undefined),
    [conversation.members, users, me],
  );
  const typingNames = typing.filter((u) => u !== me).map((u) => displayName(users.get(u)));
  const label = conversationLabel(conversation, me, users);

  return (
    <section
      className={`conversation-pane${dragging ? ' dragging' : ''}`}
      aria-label={label}
      onDragOver={(e) => {
        if (e.dataTransfer?.types?.includes('Files')) {
          e.preventDefault();
          setDragging(true);
        }
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        const files = e.dataTransfer?.files;
        if (files && files.length > 0) setDropped(Array.from(files));
      }}
    >
      <header className="pane-header">
        <div className="pane-title">
          <h1 data-testid="conversation-title">{label}</h1>
          {conversation.channel?.topic && <p className="muted topic">{conversation.channel.topic}</p>}
        </div>
        <div className="pane-header-actions">
          <MuteToggle conversation={conversation} />
          <button
            type="button"
            className="secondary small"
            data-testid="open-pins"
            aria-pressed={side?.kind === 'pins'}
            onClick={() => setSide((s) => (s?.kind === 'pins' ? null : { kind: 'pins' }))}
          >
            📌 Pinned
          </button>
        </div>
      </header>
      <div className="conversation-body">
        <div className="conversation-main">
          {win.loaded ? (
            <Timeline
              ref={timeline}
              items={items}
              hasMore={win.hasMore}
              loadingOlder={loadingOlder}
              onLoadOlder={loadOlder}
              me={me}
              users={users}
              actions={actions}
              parents={parents}
              readers={readers}
              firstUnreadKey={firstUnreadKey}
              unreadNotLoaded={unreadNotLoaded}
              onJumpToUnread={() => void jumpToUnread()}
              highlightKey={highlightKey}
              onNewestShown={onNewestShown}
              onFollowingChange={followingChanged}
            />
          ) : (
            <div className="timeline" data-testid="timeline" aria-busy="true" />
          )}
          <p className="typing-line muted" aria-live="polite">
            {typingNames.length === 1
              ? `${typingNames[0]} is typing…`
              : typingNames.length > 1
                ? `${typingNames.join(', ')} are typing…`
                : ' '}
          </p>
          {error && (
            <div className="banner error" role="alert">
              {error}
            </div>
          )}
          <Composer
            conversationId={id}
            placeholder={`Message ${label}`}
            members={members}
            users={users}
            editing={editing}
            onEditLast={editLast}
            onCancelEdit={() => setEditing(null)}
            replyTo={replyTo}
            onCancelReply={() => setReplyTo(null)}
            dropped={dropped}
            onDroppedTaken={droppedTaken}
            onSent={() => {
              // The send arrives as a diff at the end; the reader is taken there.
              requestAnimationFrame(() => timeline.current?.scrollToBottom());
            }}
            onError={setError}
          />
        </div>
        {side?.kind === 'thread' && (
          <ThreadPanel
            key={side.root}
            conversationId={id}
            root={side.root}
            me={me}
            users={users}
            members={members}
            where={label}
            version={version}
            actions={actions}
            onUnknownUsers={onUnknownUsers}
            onClose={() => setSide(null)}
          />
        )}
        {confirmDelete && (
          <Dialog title="Delete this message?" testId="confirm-delete" onClose={() => setConfirmDelete(null)}>
            <p className="muted">
              Everyone in the conversation will see that it was deleted. This cannot be undone.
            </p>
            {confirmDelete.message.text && (
              <blockquote className="delete-preview">
                {plainText(confirmDelete.message.text).slice(0, 300)}
              </blockquote>
            )}
            <div className="row end">
              <button
                type="button"
                className="secondary"
                data-autofocus
                onClick={() => setConfirmDelete(null)}
              >
                Cancel
              </button>
              <button
                type="button"
                className="danger"
                data-testid="confirm-delete-button"
                onClick={() => {
                  const item = confirmDelete;
                  setConfirmDelete(null);
                  void act(() => api.deleteMessage(id, refOf(item)));
                }}
              >
                Delete
              </button>
            </div>
          </Dialog>
        )}
        {/* Images open in a viewer that walks through the conversation's images. */}
        <ImageGallery items={items} />
        {side?.kind === 'pins' && (
          <PinnedPanel
            conversationId={id}
            users={users}
            version={version}
            onJump={(m) => void jumpTo(m)}
            onUnpin={(m) => void act(() => api.setPinned(id, m.id, false))}
            onClose={() => setSide(null)}
          />
        )}
      </div>
    </section>
  );
}

/** The `seq` of the first confirmed message of `items` (null: none, only messages being sent). */
function firstSeq(items: TimelineItem[]): number | null {
  for (const i of items) {
    const seq = seqOf(i);
    if (seq !== null) return seq;
  }
  return null;
}
