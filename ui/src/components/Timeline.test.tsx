import { render, screen } from '@testing-library/react';
import { VirtuosoMockContext } from 'react-virtuoso';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message, TimelineItem, User } from '../api';
import type { MessageActions } from './MessageItem';
import { Timeline } from './Timeline';
import { timelineItem } from '../test/fakeApp';

function item(seq: number): TimelineItem {
  const m: Message = {
    id: seq,
    conversation_id: 7,
    seq,
    sender_id: 1 + (seq % 3),
    client_id: `c${seq}`,
    text: `message ${seq}`,
    reply_to: null,
    reply_count: 0,
    thread_only: false,
    last_repliers: [],
    created_at: '2026-11-23T10:00:00Z',
    edited_at: null,
    deleted: false,
    pinned: false,
    mentions: { user_ids: [], channel: false, here: false },
    reactions: [],
    attachments: [],
  };
  return timelineItem(m);
}

const noop = () => undefined;
const actions: MessageActions = {
  react: noop,
  edit: noop,
  remove: noop,
  retry: noop,
  discard: noop,
  reply: noop,
  openThread: noop,
  pin: noop,
  jumpTo: noop,
};

describe('timeline', () => {
  it('renders only what is on screen out of 100,000 messages', () => {
    const items = Array.from({ length: 100_000 }, (_, i) => item(i + 1));
    render(
      <VirtuosoMockContext.Provider value={{ viewportHeight: 800, itemHeight: 40 }}>
        <Timeline
          items={items}
          hasMore={false}
          loadingOlder={false}
          onLoadOlder={noop}
          me={1}
          users={new Map<number, User>()}
          actions={actions}
          parents={new Map()}
          readers={new Map()}
          firstUnreadKey={null}
          unreadNotLoaded={false}
          onJumpToUnread={noop}
          highlightKey={null}
        />
      </VirtuosoMockContext.Provider>,
    );
    // An 800 px viewport of 40 px rows: twenty rows plus the overscan, from the top here (the
    // initial position is not applied in jsdom).
    const rendered = screen.getAllByTestId('message').length;
    expect(rendered).toBeGreaterThanOrEqual(20);
    expect(rendered).toBeLessThan(60);
    expect(screen.getByText('message 1')).toBeInTheDocument();
    expect(screen.queryByText('message 50000')).not.toBeInTheDocument();
  });

  describe('the newest message on screen', () => {
    afterEach(() => vi.restoreAllMocks());

    it('is measured from the rows inside the viewport, not those rendered beyond it', () => {
      // jsdom lays nothing out: rows are placed 40 px apart by their index, and the scroller shows
      // 0–100 px, so rows 0, 1 and 2 (messages 1–3) are on screen; the rest are rendered below.
      const rect = (top: number, height: number) =>
        ({ top, bottom: top + height, left: 0, right: 0, width: 0, height, x: 0, y: top }) as DOMRect;
      vi.spyOn(Element.prototype, 'getBoundingClientRect').mockImplementation(function (this: Element) {
        const el = this as HTMLElement;
        if (el.classList.contains('timeline-entry')) return rect(Number(el.dataset.index) * 40 + 1, 38);
        if (el.classList.contains('timeline-scroller')) return rect(0, 100);
        return rect(0, 0);
      });
      const shown: (number | null)[] = [];
      const items = [...Array.from({ length: 10 }, (_, i) => item(i + 1))];
      // A message still being sent has no seq: it is never the one reported.
      const pending = item(0);
      pending.state = { state: 'pending' };
      render(
        <Timeline
          items={[pending, ...items]}
          hasMore={false}
          loadingOlder={false}
          onLoadOlder={noop}
          me={1}
          users={new Map<number, User>()}
          actions={actions}
          parents={new Map()}
          readers={new Map()}
          firstUnreadKey={null}
          unreadNotLoaded={false}
          onJumpToUnread={noop}
          highlightKey={null}
          onNewestShown={(seq) => shown.push(seq)}
        />,
      );
      expect(screen.getByText('message 9')).toBeInTheDocument();
      // Rows 0–2: the pending one, messages 1 and 2.
      expect(shown).toEqual([2]);
    });
  });
});
