import { render, screen } from '@testing-library/react';
import { VirtuosoMockContext } from 'react-virtuoso';
import { describe, expect, it } from 'vitest';
import type { Message, TimelineItem, User } from '../api';
import type { MessageActions } from './MessageItem';
import { Timeline } from './Timeline';

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
  return { message: m, state: { state: 'synced' } };
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
});
