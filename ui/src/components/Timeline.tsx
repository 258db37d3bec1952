import { useLayoutEffect, useRef } from 'react';
import type { TimelineItem, User } from '../api';
import { MessageItem, MessageActions } from './MessageItem';
import { day, keyOf } from './timelineFormat';

interface Props {
  items: TimelineItem[];
  hasMore: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => Promise<void>;
  me: number;
  users: Map<number, User>;
  actions: MessageActions;
  /** Set by the pane before a send: follow the new message to the bottom. */
  stickToBottom: React.MutableRefObject<boolean>;
}

/** The messages of a conversation, oldest first, with day separators and grouped senders. */
export function Timeline({
  items,
  hasMore,
  loadingOlder,
  onLoadOlder,
  me,
  users,
  actions,
  stickToBottom,
}: Props) {
  const listRef = useRef<HTMLOListElement>(null);

  useLayoutEffect(() => {
    const list = listRef.current;
    if (list && stickToBottom.current) list.scrollTop = list.scrollHeight;
  }, [items, stickToBottom]);

  async function loadOlder() {
    stickToBottom.current = false;
    const list = listRef.current;
    const before = list ? list.scrollHeight - list.scrollTop : 0;
    await onLoadOlder();
    // Keep what was on screen where it was: no jump when older history arrives.
    requestAnimationFrame(() => {
      if (list) list.scrollTop = list.scrollHeight - before;
    });
  }

  function onScroll() {
    const list = listRef.current;
    if (!list) return;
    stickToBottom.current = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  }

  let lastDay = '';
  let lastSender = -1;
  return (
    <ol className="timeline" ref={listRef} onScroll={onScroll} data-testid="timeline" aria-live="polite">
      {hasMore && (
        <li className="load-older">
          <button type="button" className="secondary small" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? 'Loading…' : 'Load older messages'}
          </button>
        </li>
      )}
      {items.length === 0 && <li className="muted empty">No messages yet. Say hello!</li>}
      {items.map((item) => {
        const m = item.message;
        const thisDay = day(m.created_at);
        const showDay = thisDay !== lastDay;
        const grouped = !showDay && m.sender_id === lastSender;
        lastDay = thisDay;
        lastSender = m.sender_id;
        return (
          <li key={keyOf(item)} className="timeline-entry">
            {showDay && (
              <div className="day-separator" role="separator">
                {thisDay}
              </div>
            )}
            <MessageItem item={item} me={me} users={users} grouped={grouped} actions={actions} />
          </li>
        );
      })}
    </ol>
  );
}
