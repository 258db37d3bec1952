import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { Conversation, Message, SearchResult, User } from '../api';
import { fail, fakeApp, user } from '../test/fakeApp';
import { SearchPanel } from './SearchPanel';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });
const USERS = new Map<number, User>([
  [1, ADA],
  [2, GRACE],
]);

const GENERAL: Conversation = {
  id: 9,
  kind: 'channel',
  name: 'general',
  created_at: '2026-11-23T10:00:00Z',
  last_activity_at: '2026-11-23T10:00:00Z',
  last_seq: 3,
  read_seq: 3,
  unread_count: 0,
  mention_count: 0,
  my_role: 'member',
  last_message: null,
  members: [],
  muted: false,
};

function hit(id: number, text: string, overrides: Partial<Message> = {}): SearchResult {
  return {
    message: {
      id,
      conversation_id: 9,
      seq: id * 10,
      sender_id: 2,
      client_id: `c${id}`,
      text,
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
      ...overrides,
    },
    snippet: [{ text, highlight: true }],
    local: true,
  };
}

function panel(onOpen = vi.fn()) {
  render(
    <SearchPanel
      me={1}
      users={USERS}
      conversations={[GENERAL]}
      current={GENERAL}
      onOpen={onOpen}
      onClose={() => undefined}
    />,
  );
  return onOpen;
}

describe('search as you type', () => {
  it('searches once when typing pauses, with no button to press', async () => {
    const calls = fakeApp({ search: () => [hit(1, 'quarterly slides')] });
    panel();
    await userEvent.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'quarterly');
    expect(await screen.findByText('quarterly slides')).toBeInTheDocument();
    const searches = calls.filter((c) => c.cmd === 'search');
    // One search for the whole word, not one per letter.
    expect(searches).toHaveLength(1);
    expect(searches[0].args).toEqual({ query: 'quarterly', conversationId: null });
    expect(screen.queryByRole('button', { name: 'Search' })).toBeNull();
    expect(screen.getByText('1 message')).toBeInTheDocument();
  });

  it('drops an answer that arrives after the query changed', async () => {
    let releaseOld: (r: SearchResult[]) => void = () => undefined;
    fakeApp({
      search: (args) =>
        args.query === 'old'
          ? new Promise<SearchResult[]>((resolve) => (releaseOld = resolve))
          : [hit(2, 'the newer words')],
    });
    panel();
    const box = screen.getByRole('searchbox', { name: 'Search messages' });
    await userEvent.type(box, 'old');
    await waitFor(() => expect(screen.getByText('Searching…')).toBeInTheDocument());
    await userEvent.clear(box);
    await userEvent.type(box, 'newer');
    expect(await screen.findByText('the newer words')).toBeInTheDocument();
    releaseOld([hit(1, 'stale answer')]);
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByText('stale answer')).toBeNull();
    expect(screen.getByText('the newer words')).toBeInTheDocument();
  });

  it('moves through hits with the arrow keys and opens one at its message with Enter', async () => {
    fakeApp({ search: () => [hit(1, 'first plan'), hit(2, 'second plan', { reply_to: 1 })] });
    const onOpen = panel();
    const box = screen.getByRole('searchbox', { name: 'Search messages' });
    await userEvent.type(box, 'plan');
    await screen.findByText('second plan');
    expect(screen.getByText(/in a thread/)).toBeInTheDocument();
    await userEvent.keyboard('{ArrowDown}{Enter}');
    expect(onOpen).toHaveBeenCalledWith(9, 2, 20);
  });

  it('limits the search to the open conversation when asked', async () => {
    const calls = fakeApp({ search: () => [] });
    panel();
    await userEvent.click(screen.getByRole('checkbox', { name: /Only in/ }));
    await userEvent.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'nothing');
    expect(await screen.findByText('No messages match “nothing”.')).toBeInTheDocument();
    expect(calls.filter((c) => c.cmd === 'search').at(-1)?.args).toEqual({
      query: 'nothing',
      conversationId: 9,
    });
  });

  it('shows the search syntax and says why a query is refused', async () => {
    fakeApp({
      search: (args) =>
        fail({
          code: 'invalid_query',
          message: `invalid search query: before: needs a date as YYYY-MM-DD (${String(args.query)})`,
        }),
    });
    panel();
    const box = screen.getByRole('searchbox', { name: 'Search messages' });
    // The hint names the filters and is the box's description.
    expect(box).toHaveAccessibleDescription(/from:@name.*in:#channel.*has:file/);
    await userEvent.type(box, 'report before:soon');
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'invalid search query: before: needs a date as YYYY-MM-DD (report before:soon)',
    );
  });
});
