import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import {
  api,
  Conversation,
  Message,
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
import { useCoalesced } from './useCoalesced';
import { startupStep } from '../startup';
import './timeline.css';

interface Props {
  conversation: Conversation;
  me: number;
  users: Map<number, User>;
  /** Bumped when the engine says this timeline changed. */
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

/** Page sizes: what opening shows, and what a jump back into history loads at a time. */
export const PAGE = 50;
const JUMP_PAGE = 200;
/** A jump loads at most this many pages before giving up. */
const JUMP_PAGES_MAX = 50;
/**
 * While the reader follows the newest messages, the pane keeps at most this many (older ones are
 * dropped and read again from the cache when scrolled to): a conversation left open for hours
 * under steady traffic holds a window, not everything that arrived (BENCHMARKS.md, desktop memory).
 */
export const FOLLOWING_KEEP = 150;

type Side = { kind: 'thread'; root: number } | { kind: 'pins' } | null;

interface Pages {
  /** Everything loaded before the newest page, oldest first. */
  older: TimelineItem[];
  /** The newest page (re-read on every change), with pending sends at the end. */
  newest: TimelineItem[];
  /** Messages exist before the first loaded one. */
  hasMore: boolean;
  loaded: boolean;
}

/**
 * One conversation: header (pinned panel toggle), the virtualized timeline, the typing line, the
 * composer (reply quote bar, @mentions, emoji), and a side panel for a thread or the pins.
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
  const [pages, setPages] = useState<Pages>(() =>
    initialPage
      ? { older: [], newest: initialPage.items, hasMore: initialPage.has_more_before, loaded: true }
      : { older: [], newest: [], hasMore: false, loaded: false },
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

  const items = useMemo(() => [...pages.older, ...pages.newest], [pages]);
  const itemsRef = useRef(items);
  itemsRef.current = items;
  const pagesRef = useRef(pages);
  pagesRef.current = pages;

  const load = useCallback(async () => {
    try {
      const page = await api.timeline(id, null, PAGE);
      startupStep('timeline');
      // Not while a jump or an older page is loading: those pages are wanted on screen.
      const following =
        (timeline.current?.following() ?? true) && !loadingOlderRef.current && pendingJump.current === null;
      setPages((prev) => {
        const firstNew = firstSeq(page.items) ?? Infinity;
        // Messages that left the newest page (newer ones arrived) stay loaded: nothing shifts.
        const older = [...prev.older, ...prev.newest].filter((i) => (seqOf(i) ?? Infinity) < firstNew);
        const seen = new Set<number>();
        let unique = older.filter((i) => !seen.has(seqOf(i)!) && seen.add(seqOf(i)!));
        let hasMore = unique.length > 0 ? prev.hasMore : page.has_more_before;
        // A reader at the bottom sees none of the oldest: keep a bounded window of them.
        const room = Math.max(0, FOLLOWING_KEEP - page.items.length);
        if (following && unique.length > room) {
          unique = unique.slice(unique.length - room);
          hasMore = true;
        }
        return { older: unique, newest: page.items, hasMore, loaded: true };
      });
      onUnknownUsers(page.items.map((i) => i.message.sender_id));
    } catch (e) {
      setError(toCommandError(e).message);
    }
    api.readReceipts(id).then(setReceipts, () => undefined);
  }, [id, onUnknownUsers]);

  // Each change re-reads the newest page; changes that arrive during a read fold into one more.
  const loadSoon = useCoalesced(load);
  useEffect(() => {
    void loadSoon();
  }, [load, loadSoon, version]);

  /** Loads older pages until the message at `seq` is loaded (or history ends). */
  const loadUntil = useCallback(
    async (seq: number | null, limit: number, maxPages: number) => {
      if (loadingOlderRef.current) return;
      loadingOlderRef.current = true;
      setLoadingOlder(true);
      try {
        let oldest = firstSeq(itemsRef.current) ?? undefined;
        let more = pagesRef.current.hasMore;
        let gathered: TimelineItem[] = [];
        for (let n = 0; more && oldest !== undefined && n < maxPages; n++) {
          if (seq !== null && oldest <= seq) break;
          const page = await api.timeline(id, oldest, limit);
          gathered = [...page.items, ...gathered];
          more = page.has_more_before;
          onUnknownUsers(page.items.map((i) => i.message.sender_id));
          if (page.items.length === 0) break;
          oldest = firstSeq(page.items) ?? undefined;
        }
        const gotMore = more;
        setPages((prev) => {
          const firstLoaded = firstSeq([...prev.older, ...prev.newest]) ?? Infinity;
          const fresh = gathered.filter((i) => (seqOf(i) ?? Infinity) < firstLoaded);
          return { ...prev, older: [...fresh, ...prev.older], hasMore: gotMore };
        });
      } catch (e) {
        setError(toCommandError(e).message);
      } finally {
        loadingOlderRef.current = false;
        setLoadingOlder(false);
      }
    },
    [id, onUnknownUsers],
  );

  const loadOlder = useCallback(() => void loadUntil(null, PAGE, 1), [loadUntil]);

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
  const unreadNotLoaded = unreadAtOpen > 0 && pages.hasMore && oldestSeq > readAt + 1;
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
    await loadUntil(m.seq, JUMP_PAGE, JUMP_PAGES_MAX);
  }

  // A clicked notification: to its message, loading back through history when needed (the seq is
  // looked up when the notification did not carry it), or to its thread when it is a reply kept
  // there.
  useEffect(() => {
    if (!focus || !pages.loaded) return;
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
  }, [focus?.nonce, pages.loaded]);

  async function jumpToUnread() {
    if (firstUnreadKey && timeline.current?.showKey(firstUnreadKey)) return;
    pendingJump.current = 'unread';
    await loadUntil(readAt + 1, JUMP_PAGE, JUMP_PAGES_MAX);
  }

  async function act(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
      void loadSoon();
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
          {pages.loaded ? (
            <Timeline
              ref={timeline}
              items={items}
              hasMore={pages.hasMore}
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
              void load().then(() => requestAnimationFrame(() => timeline.current?.scrollToBottom()));
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
