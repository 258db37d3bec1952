import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Conversation, Message, TimelineItem, User } from '../../api';
import { fakeApp, status, user, timelineItem } from '../../test/fakeApp';
import { ChatView } from '../ChatView';
import { Sidebar } from '../Sidebar';

const ADA = user();
const GRACE = user({
  id: 2,
  username: 'grace',
  display_name: 'Grace Hopper',
  status_text: 'Debugging the Mark II',
  bio: 'Rear admiral',
});

function conversation(id: number, kind: Conversation['kind'], name: string | null): Conversation {
  return {
    id,
    kind,
    name,
    created_at: '2026-11-23T10:00:00Z',
    last_activity_at: '2026-11-23T10:05:00Z',
    last_seq: 4,
    read_seq: 4,
    unread_count: 0,
    mention_count: 0,
    my_role: 'member',
    last_message: null,
    members: [1, 2].map((u) => ({ user_id: u, role: 'member', joined_at: '2026-11-23T10:00:00Z' })),
    muted: false,
    peer_presence: kind === 'direct' ? 'online' : null,
  };
}

function message(seq: number, sender: number, text: string): Message {
  return {
    id: 100 + seq,
    conversation_id: 8,
    seq,
    sender_id: sender,
    client_id: `c${seq}`,
    text,
    reply_to: null,
    thread_only: false,
    reply_count: 0,
    last_repliers: [],
    created_at: '2026-11-23T10:0' + seq + ':00Z',
    edited_at: null,
    deleted: false,
    pinned: false,
    mentions: { user_ids: [], channel: false, here: false },
    reactions: [],
    attachments: [],
  };
}

const item = (m: Message): TimelineItem => timelineItem(m);

function renderChannel(handlers: Parameters<typeof fakeApp>[0] = {}) {
  const calls = fakeApp({
    users: () => [ADA, GRACE] as User[],
    conversations: () => [conversation(8, 'channel', 'general'), conversation(9, 'direct', null)],
    timeline: (args) =>
      args.conversationId === 8
        ? {
            items: [item(message(1, 2, 'first')), item(message(2, 2, 'second')), item(message(3, 1, 'mine'))],
            has_more_before: false,
          }
        : { items: [], has_more_before: false },
    ...handlers,
  });
  render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
  return calls;
}

describe('faces and names', () => {
  it('puts the sender’s face beside the first of grouped messages and keeps the column for the rest', async () => {
    renderChannel();
    await userEvent.click(await screen.findByRole('button', { name: /#general/ }));
    const [first, second, mine] = await screen.findAllByTestId('message');
    // Grace's two messages are one group: a face on the first, an empty column on the second.
    expect(within(first).getByTestId('message-avatar')).toHaveTextContent('G');
    expect(second).toHaveClass('grouped');
    expect(within(second).queryByTestId('message-avatar')).not.toBeInTheDocument();
    // (That its text lines up under the first is layout: the desktop e2e `threads` measures it.)
    expect(within(mine).getByTestId('message-avatar')).toHaveTextContent('A');
  });

  it('opens a profile card from a name or a face, and "Message" opens the direct conversation', async () => {
    const calls = renderChannel({ open_direct: () => conversation(9, 'direct', null) });
    await userEvent.click(await screen.findByRole('button', { name: /#general/ }));
    const [first] = await screen.findAllByTestId('message');

    await userEvent.click(within(first).getByRole('button', { name: 'Grace Hopper: show profile' }));
    let card = await screen.findByRole('dialog', { name: 'Grace Hopper' });
    expect(card).toHaveTextContent('@grace');
    expect(within(card).getByTestId('profile-card-status')).toHaveTextContent('Debugging the Mark II');
    expect(card).toHaveTextContent('Rear admiral');
    expect(within(card).getByTestId('profile-card-presence')).toHaveTextContent('Online');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();

    await userEvent.click(within(first).getByRole('button', { name: 'Profile of Grace Hopper' }));
    card = await screen.findByRole('dialog', { name: 'Grace Hopper' });
    await userEvent.click(within(card).getByRole('button', { name: 'Message' }));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'open_direct')?.args).toEqual({ username: 'grace' }),
    );
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('@grace');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it('says why "Message" failed offline and offers no "Message" on one’s own card', async () => {
    renderChannel({
      open_direct: () => {
        throw { code: 'server_unreachable', message: 'offline' };
      },
    });
    await userEvent.click(await screen.findByRole('button', { name: /#general/ }));
    const messages = await screen.findAllByTestId('message');
    await userEvent.click(within(messages[0]).getByRole('button', { name: 'Grace Hopper: show profile' }));
    const card = await screen.findByRole('dialog', { name: 'Grace Hopper' });
    await userEvent.click(within(card).getByRole('button', { name: 'Message' }));
    expect(await within(card).findByRole('alert')).toHaveTextContent(
      'Starting a conversation needs the server, which is not reachable now.',
    );
    await userEvent.keyboard('{Escape}');

    await userEvent.click(within(messages[2]).getByRole('button', { name: 'Ada Lovelace: show profile' }));
    const mine = await screen.findByRole('dialog', { name: 'Ada Lovelace' });
    expect(within(mine).queryByRole('button', { name: 'Message' })).not.toBeInTheDocument();
    expect(mine).toHaveTextContent('This is you.');
  });

  it('lines direct messages up with channels and groups: every row leads with one slot', () => {
    fakeApp({});
    render(
      <Sidebar
        me={1}
        users={new Map([ADA, GRACE].map((u) => [u.id, u]))}
        conversations={[
          conversation(8, 'channel', 'general'),
          conversation(10, 'group', 'Crew'),
          conversation(9, 'direct', null),
        ]}
        selected={null}
        onSelect={() => undefined}
        onOpened={() => undefined}
      />,
    );
    for (const row of screen.getAllByTestId('conversation')) {
      const [lead, label] = [...row.children];
      expect(lead).toHaveClass('lead');
      expect(label).toHaveClass('label');
    }
    const dm = screen.getByRole('button', { name: /@grace/ });
    expect(dm.querySelector('.lead > [data-testid="presence"]')).not.toBeNull();
  });
});
