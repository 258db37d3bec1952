import { forwardRef, KeyboardEvent, useEffect, useImperativeHandle, useRef, useState } from 'react';
import { Virtuoso, VirtuosoHandle } from 'react-virtuoso';
import type { Message, TimelineItem, User } from '../api';
import { MessageItem, MessageActions } from './MessageItem';
import { day, keyOf, seqOf } from './timelineFormat';

/**
 * Virtuoso's indexes for prepended items go down from here (they must stay positive); a
 * conversation would need this many messages loaded in one sitting to run out.
 */
const FIRST_INDEX = 10_000_000;

interface Props {
  items: TimelineItem[];
  hasMore: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  me: number;
  users: Map<number, User>;
  actions: MessageActions;
  /** Quoted parents by id. */
  parents: Map<number, Message>;
  /** Who has read up to each message (by key). */
  readers: Map<string, number[]>;
  /** The first message that was unread when the conversation was opened (its key). */
  firstUnreadKey: string | null;
  /** Unread messages exist older than those loaded: the jump button loads them. */
  unreadNotLoaded: boolean;
  onJumpToUnread: () => void;
  highlightKey: string | null;
  /**
   * Told the `seq` of the newest confirmed message actually on screen (`null`: none) each time it
   * changes. A fact for the engine, which decides from it (and the window's focus) what is read.
   */
  onNewestShown?: (seq: number | null) => void;
  /**
   * Told whether the reader follows the newest messages (is at the bottom) each time it changes:
   * the engine keeps the window bounded while so, and leaves it whole while reading history.
   */
  onFollowingChange?: (following: boolean) => void;
}

/** What the list's header needs (passed as Virtuoso's context: the header component stays put). */
interface HeaderContext {
  hasMore: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
}

/** Above the first message: "Load older messages", or the start of the conversation. */
function Header({ context }: { context?: HeaderContext }) {
  if (!context) return null;
  return context.hasMore ? (
    <div className="load-older">
      <button
        type="button"
        className="secondary small"
        onClick={context.onLoadOlder}
        disabled={context.loadingOlder}
      >
        {context.loadingOlder ? 'Loading…' : 'Load older messages'}
      </button>
    </div>
  ) : (
    <div className="timeline-start muted">This is the beginning of the conversation.</div>
  );
}

// Defined once: Virtuoso remounts components whose identity changes.
const COMPONENTS = { Header };

export interface TimelineHandle {
  /** Scrolls to a loaded message and gives it keyboard focus; false when it is not loaded. */
  showKey: (key: string) => boolean;
  scrollToBottom: () => void;
  /** Whether the reader is at the newest message, following what arrives. */
  following: () => boolean;
}

/**
 * The messages of a conversation, oldest first, virtualized (react-virtuoso renders only what is
 * on screen, so 100k cached messages scroll like 100): day separators, grouped senders, the
 * "new messages" separator, read receipts. It stays at the bottom while new messages arrive if it
 * was there, and keeps what is on screen in place when older history is prepended (Virtuoso's
 * `firstItemIndex`). Keyboard: the list is focusable; ↑/↓ move between messages, Home/End go to
 * the ends, Tab reaches the focused message's actions, and R (reply), T (thread), P (pin/unpin),
 * E (edit your own) act on it.
 */
export const Timeline = forwardRef<TimelineHandle, Props>(function Timeline(
  {
    items,
    hasMore,
    loadingOlder,
    onLoadOlder,
    me,
    users,
    actions,
    parents,
    readers,
    firstUnreadKey,
    unreadNotLoaded,
    onJumpToUnread,
    highlightKey,
    onNewestShown,
    onFollowingChange,
  },
  ref,
) {
  const virtuoso = useRef<VirtuosoHandle>(null);
  const wrapper = useRef<HTMLDivElement>(null);
  const [range, setRange] = useState({ startIndex: 0, endIndex: -1 });
  const [atBottom, setAtBottom] = useState(true);
  // Whether the reader left the view at the bottom, as of the last scroll (theirs or ours). A
  // message growing (a reaction, an edit, an image) moves the bottom away without a scroll: the
  // view then follows it back down, and new messages keep following, as chat apps do.
  // Opened at the first unread message (further up), it does not start stuck to the bottom.
  const stick = useRef(firstUnreadKey === null);
  const scroller = useRef<HTMLElement | null>(null);
  const followingChange = useRef(onFollowingChange);
  followingChange.current = onFollowingChange;
  // The viewport's size at the last scroll: a scroll that comes with a new size is the window or
  // a panel resizing (the browser clamping the position), not the reader leaving the bottom.
  const viewport = useRef({ w: 0, h: 0 });
  // The newest confirmed message whose row is inside the viewport, measured (Virtuoso's range
  // includes rows rendered beyond the viewport, `increaseViewportBy`): reported when it changes.
  const shown = useRef<number | null>(null);
  const measure = useRef(() => {});
  measure.current = () => {
    const el = scroller.current;
    if (!el || !onNewestShown) return;
    const view = el.getBoundingClientRect();
    let newest: number | null = null;
    for (const row of el.querySelectorAll<HTMLElement>('.timeline-entry')) {
      const r = row.getBoundingClientRect();
      if (r.top > view.bottom || r.bottom < view.top) continue;
      const item = items[Number(row.dataset.index)];
      const seq = item ? seqOf(item) : null;
      if (seq !== null && (newest === null || seq > newest)) newest = seq;
    }
    if (newest !== shown.current) {
      shown.current = newest;
      onNewestShown(newest);
    }
  };
  // After every render (new rows, a new range) and on every scroll.
  useEffect(() => measure.current());
  const onScroll = useRef(() => {
    measure.current();
    const el = scroller.current;
    if (!el) return;
    if (el.clientHeight !== viewport.current.h || el.clientWidth !== viewport.current.w) return;
    const following = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    if (following !== stick.current) followingChange.current?.(following);
    stick.current = following;
  });
  // A reader at the newest message stays there when the window (or the space beside a panel)
  // grows or shrinks.
  const resized = useRef<ResizeObserver | null>(null);
  const follow = useRef(() => {});
  follow.current = () => {
    if (stick.current && items.length > 0)
      virtuoso.current?.scrollToIndex({ index: items.length - 1, align: 'end' });
  };

  // Prepending (older history) lowers the first index by as many items as came before the old
  // first one; dropping the oldest (the engine keeps a bounded window while the reader follows the
  // newest) raises it by as many as were dropped; appending and updates leave it. Kept in a ref,
  // adjusted as the data changes.
  const first = useRef<{ items: TimelineItem[]; index: number }>({ items: [], index: FIRST_INDEX });
  if (items !== first.current.items) {
    const before = first.current.items;
    let index = first.current.index;
    if (before.length > 0 && items.length > 0 && keyOf(before[0]) !== keyOf(items[0])) {
      const oldFirst = keyOf(before[0]);
      const newFirst = keyOf(items[0]);
      const prepended = items.findIndex((i) => keyOf(i) === oldFirst);
      const dropped = prepended > 0 ? -1 : before.findIndex((i) => keyOf(i) === newFirst);
      if (prepended > 0) index -= prepended;
      else if (dropped > 0) index += dropped;
    }
    first.current = { items, index };
  }
  const firstItemIndex = first.current.index;

  const indexOfKey = (key: string) => items.findIndex((i) => keyOf(i) === key);

  function focusIndex(index: number) {
    if (index < 0 || index >= items.length) return;
    virtuoso.current?.scrollIntoView({ index, align: 'center' });
    // The row exists once Virtuoso has rendered it.
    let tries = 0;
    const attempt = () => {
      const row = wrapper.current?.querySelector<HTMLElement>(`[data-index="${index}"] article`);
      if (row) row.focus({ preventScroll: false });
      else if (tries++ < 10) requestAnimationFrame(attempt);
    };
    requestAnimationFrame(attempt);
  }

  useImperativeHandle(ref, () => ({
    showKey: (key: string) => {
      const index = indexOfKey(key);
      if (index < 0) return false;
      virtuoso.current?.scrollToIndex({ index, align: 'center' });
      focusIndex(index);
      return true;
    },
    scrollToBottom: () => {
      if (items.length > 0) virtuoso.current?.scrollToIndex({ index: items.length - 1, align: 'end' });
    },
    following: () => stick.current,
  }));

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    const target = e.target as HTMLElement;
    // Keys typed in a button, a field or the emoji picker are theirs.
    if (target.closest('button, input, textarea, [role=dialog]') && target !== wrapper.current) return;
    const row = target.closest<HTMLElement>('[data-index]');
    const current = row ? Number(row.dataset.index) : -1;
    // Letters act on the focused message (as its buttons say in aria-keyshortcuts).
    const focused = current >= 0 && target.tagName === 'ARTICLE' ? items[current] : undefined;
    if (focused && !e.ctrlKey && !e.metaKey && !e.altKey && !focused.message.deleted) {
      const m = focused.message;
      const sent = focused.id.kind === 'sent';
      const act: Record<string, (() => void) | undefined> = {
        r: sent ? () => actions.reply(focused) : undefined,
        t: sent ? () => actions.openThread(focused) : undefined,
        p: sent ? () => actions.pin(focused, !m.pinned) : undefined,
        e: m.sender_id === me ? () => actions.edit(focused) : undefined,
      };
      const run = act[e.key.toLowerCase()];
      if (run) {
        e.preventDefault();
        run();
        return;
      }
    }
    let next: number | null = null;
    if (e.key === 'ArrowDown') next = current < 0 ? Math.max(0, range.startIndex) : current + 1;
    else if (e.key === 'ArrowUp') next = current < 0 ? Math.max(0, range.endIndex) : current - 1;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = items.length - 1;
    if (next === null) return;
    e.preventDefault();
    if (next < 0 && hasMore) {
      onLoadOlder();
      return;
    }
    focusIndex(Math.max(0, Math.min(items.length - 1, next)));
  }

  // Virtuoso reports indexes offset by firstItemIndex; ours are positions in `items`.
  const norm = (i: number) => (i >= firstItemIndex ? i - firstItemIndex : i);
  const unreadIndex = firstUnreadKey ? indexOfKey(firstUnreadKey) : -1;
  const unreadVisible = unreadIndex >= 0 && unreadIndex >= range.startIndex && unreadIndex <= range.endIndex;
  const showJump = (unreadIndex >= 0 && !unreadVisible && range.endIndex >= 0) || unreadNotLoaded;

  return (
    <div
      className="timeline"
      data-testid="timeline"
      ref={wrapper}
      tabIndex={0}
      role="log"
      aria-label="Messages"
      onKeyDown={onKeyDown}
    >
      {showJump && (
        <button type="button" className="jump-unread" data-testid="jump-unread" onClick={onJumpToUnread}>
          ↑ Jump to first unread
        </button>
      )}
      {!atBottom && items.length > 0 && (
        <button
          type="button"
          className="jump-bottom"
          aria-label="Jump to the newest message"
          onClick={() => virtuoso.current?.scrollToIndex({ index: items.length - 1, align: 'end' })}
        >
          ↓
        </button>
      )}
      {items.length === 0 ? (
        <p className="muted empty">No messages yet. Say hello!</p>
      ) : (
        <Virtuoso<TimelineItem, HeaderContext>
          ref={virtuoso}
          className="timeline-scroller"
          data={items}
          firstItemIndex={firstItemIndex}
          initialTopMostItemIndex={
            unreadIndex >= 0
              ? { index: unreadIndex, align: 'start' }
              : { index: items.length - 1, align: 'end' }
          }
          computeItemKey={(_, item) => keyOf(item)}
          followOutput={(bottom) => (bottom || stick.current ? 'auto' : false)}
          scrollerRef={(el) => {
            scroller.current?.removeEventListener('scroll', onScroll.current);
            resized.current?.disconnect();
            scroller.current = el instanceof HTMLElement ? el : null;
            const current = scroller.current;
            if (!current) return;
            viewport.current = { w: current.clientWidth, h: current.clientHeight };
            current.addEventListener('scroll', onScroll.current, { passive: true });
            if (typeof ResizeObserver !== 'undefined') {
              resized.current = new ResizeObserver(() => {
                const size = { w: current.clientWidth, h: current.clientHeight };
                if (size.w === viewport.current.w && size.h === viewport.current.h) return;
                viewport.current = size;
                follow.current();
              });
              resized.current.observe(current);
            }
          }}
          atBottomStateChange={setAtBottom}
          // A message on screen grew or shrank (a reaction, an edit, a delete, an image): a reader
          // at the newest message stays there.
          totalListHeightChanged={() => {
            if (stick.current && !loadingOlder && items.length > 0) {
              virtuoso.current?.scrollToIndex({ index: items.length - 1, align: 'end' });
            }
          }}
          atBottomThreshold={40}
          increaseViewportBy={{ top: 400, bottom: 200 }}
          startReached={() => {
            if (hasMore && !loadingOlder) onLoadOlder();
          }}
          rangeChanged={(r) => setRange({ startIndex: norm(r.startIndex), endIndex: norm(r.endIndex) })}
          context={{ hasMore, loadingOlder, onLoadOlder }}
          components={COMPONENTS}
          itemContent={(virtualIndex, item) => {
            const index = virtualIndex - firstItemIndex;
            const prev = index > 0 ? items[index - 1] : undefined;
            const m = item.message;
            const thisDay = day(m.created_at);
            const showDay = !prev || day(prev.message.created_at) !== thisDay;
            const key = keyOf(item);
            const unread = key === firstUnreadKey;
            const grouped = !showDay && !unread && prev?.message.sender_id === m.sender_id;
            return (
              <div className="timeline-entry" data-index={index} data-key={key}>
                {showDay && (
                  <div className="day-separator" role="separator">
                    {thisDay}
                  </div>
                )}
                {unread && (
                  <div className="unread-separator" role="separator" data-testid="unread-separator">
                    New messages
                  </div>
                )}
                <MessageItem
                  item={item}
                  me={me}
                  users={users}
                  grouped={grouped}
                  actions={actions}
                  parent={m.reply_to !== null ? (parents.get(m.reply_to) ?? null) : undefined}
                  readers={readers.get(key)}
                  highlighted={key === highlightKey}
                />
              </div>
            );
          }}
        />
      )}
    </div>
  );
});
