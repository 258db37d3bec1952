import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import type { Conversation, Message, ThreadEntry, TimelineItem, User } from '../../api';
import { fakeApp, status, user, timelineItem } from '../../test/fakeApp';
import { ChatView } from '../ChatView';
import { RepliesLine } from './RepliesLine';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });
const ALAN = user({ id: 3, username: 'alan', display_name: 'Alan Turing' });

function channel(id: number, name: string): Conversation {
  return {
    id,
    kind: 'channel',
    name,
    created_at: '2026-11-23T10:00:00Z',
    last_activity_at: '2026-11-23T10:05:00Z',
    last_seq: 4,
    read_seq: 4,
    unread_count: 0,
    mention_count: 0,
    my_role: 'member',
    last_message: null,
    members: [1, 2, 3].map((u) => ({ user_id: u, role: 'member', joined_at: '2026-11-23T10:00:00Z' })),
    muted: false,
  };
}

function message(
  conversation: number,
  seq: number,
  sender: number,
  text: string,
  more: Partial<Message> = {},
): Message {
  return {
    id: 100 + seq,
    conversation_id: conversation,
    seq,
    sender_id: sender,
    client_id: `c${seq}`,
    text,
    reply_to: null,
    thread_only: false,
    reply_count: 0,
    last_repliers: [],
    created_at: '2026-11-23T10:0' + Math.min(seq, 9) + ':00Z',
    edited_at: null,
    deleted: false,
    pinned: false,
    mentions: { user_ids: [], channel: false, here: false },
    reactions: [],
    attachments: [],
    ...more,
  };
}

const item = (m: Message): TimelineItem => timelineItem(m);

describe('replies line', () => {
  it('says how many replies there are and who replied last, with their faces', async () => {
    const users = new Map([ADA, GRACE, ALAN].map((u) => [u.id, u]));
    let opened = 0;
    const { rerender } = render(
      <RepliesLine
        message={message(8, 2, 1, 'root', { reply_count: 3, last_repliers: [3, 2] })}
        users={users}
        onOpen={() => opened++}
      />,
    );
    const line = screen.getByRole('button', {
      name: '3 replies from Alan Turing and Grace Hopper. Open the thread',
    });
    expect(line).toHaveTextContent('3 replies');
    expect(line).toHaveTextContent('Alan Turing, Grace Hopper');
    expect(within(screen.getByTestId('repliers')).getAllByText(/^[AG]$/)).toHaveLength(2);
    await userEvent.click(line);
    expect(opened).toBe(1);

    rerender(
      <RepliesLine
        message={message(8, 2, 1, 'root', { reply_count: 1, last_repliers: [2] })}
        users={users}
        onOpen={() => undefined}
      />,
    );
    expect(
      screen.getByRole('button', { name: '1 reply from Grace Hopper. Open the thread' }),
    ).toBeInTheDocument();
  });
});

describe('threads view', () => {
  function entry(root: Message, unread: number): ThreadEntry {
    return { root, last_reply_at: '2026-11-23T10:09:00Z', unread };
  }

  it('lists the threads one takes part in with unread replies, and opens one beside its channel', async () => {
    const design = message(8, 2, 2, 'Which font for the logo?', { reply_count: 4, last_repliers: [3, 1] });
    const lunch = message(9, 5, 1, 'Lunch at noon?', { reply_count: 1, last_repliers: [2] });
    let threads = [entry(design, 3), entry(lunch, 0)];
    const calls = fakeApp({
      users: () => [ADA, GRACE, ALAN] as User[],
      conversations: () => [channel(8, 'design'), channel(9, 'random')],
      threads: () => threads,
      timeline: (args) =>
        args.conversationId === 8
          ? { items: [item(design)], has_more_before: false }
          : { items: [item(lunch)], has_more_before: false },
      messages: () => [design],
      thread: () => ({
        root: item(design),
        replies: [item(message(8, 3, 3, 'Inter', { reply_to: design.id, thread_only: true }))],
      }),
    });
    render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);

    // The sidebar shows the unread replies over all threads.
    const open = await screen.findByRole('button', { name: 'Threads, 3 unread' });
    await userEvent.click(open);
    const panel = await screen.findByTestId('threads-panel');
    const rows = within(panel).getAllByTestId('thread-entry');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('#design');
    expect(rows[0]).toHaveTextContent('Grace Hopper Which font for the logo?');
    expect(rows[0]).toHaveTextContent('4 replies · Alan Turing, Ada Lovelace');
    expect(within(rows[0]).getByTestId('thread-unread')).toHaveTextContent('3');
    expect(rows[0]).toHaveAccessibleName(
      '#design: Grace Hopper: Which font for the logo?. 4 replies from Alan Turing and Ada Lovelace, 3 unread',
    );
    expect(rows[1]).toHaveTextContent('#random');
    expect(within(rows[1]).queryByTestId('thread-unread')).not.toBeInTheDocument();

    // Opening one shows its channel with the thread beside it, and closes the list.
    await userEvent.click(rows[0]);
    const thread = await screen.findByTestId('thread-panel');
    expect(await within(thread).findByText('Inter')).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'thread')?.args).toEqual({ conversationId: 8, root: design.id });
    expect(screen.getByTestId('conversation-title')).toHaveTextContent('#design');
    expect(screen.queryByTestId('threads-panel')).not.toBeInTheDocument();

    // The engine says the thread was read: the list (and the badge) are read again.
    threads = [entry(design, 0), entry(lunch, 0)];
    await emit('engine-event', { type: 'thread_read', conversation_id: 8, root: design.id });
    await waitFor(() => expect(screen.getByRole('button', { name: 'Threads' })).toBeInTheDocument());
    expect(screen.queryByTestId('threads-unread')).not.toBeInTheDocument();
  });

  it('opens a notification about a reply kept in its thread in that thread, not the timeline', async () => {
    const root = message(8, 2, 2, 'Which font for the logo?', { reply_count: 1, last_repliers: [3] });
    const reply = message(8, 3, 3, '@ada Inter, surely', { reply_to: root.id, thread_only: true });
    const calls = fakeApp({
      users: () => [ADA, GRACE, ALAN] as User[],
      conversations: () => [channel(8, 'design')],
      timeline: () => ({ items: [item(root)], has_more_before: false }),
      messages: () => [reply],
      thread: () => ({ root: item(root), replies: [item(reply)] }),
    });
    render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
    await screen.findByRole('button', { name: /#design/ });
    await emit('open-message', { conversationId: 8, messageId: reply.id, seq: reply.seq });
    const thread = await screen.findByTestId('thread-panel');
    expect(await within(thread).findByText(/Inter, surely/)).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'thread')?.args).toEqual({ conversationId: 8, root: root.id });
  });

  it('opens a search hit on a reply kept in its thread in that thread', async () => {
    const root = message(8, 2, 2, 'Which font for the logo?', { reply_count: 1, last_repliers: [3] });
    const reply = message(8, 3, 3, 'Inter for the logo', { reply_to: root.id, thread_only: true });
    const calls = fakeApp({
      users: () => [ADA, GRACE, ALAN] as User[],
      conversations: () => [channel(8, 'design')],
      timeline: () => ({ items: [item(root)], has_more_before: false }),
      messages: () => [reply],
      thread: () => ({ root: item(root), replies: [item(reply)] }),
      search: () => [
        { message: reply, snippet: [{ text: 'Inter for the logo', highlight: false }], local: true },
      ],
    });
    render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
    await userEvent.click(await screen.findByTestId('open-search'));
    await userEvent.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'inter');
    await userEvent.click(await screen.findByTestId('search-hit'));
    const thread = await screen.findByTestId('thread-panel');
    expect(await within(thread).findByText('Inter for the logo')).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'thread')?.args).toEqual({ conversationId: 8, root: root.id });
  });

  it('shows the threads as last seen while offline, and says so', async () => {
    const design = message(8, 2, 2, 'Which font for the logo?', { reply_count: 2, last_repliers: [3] });
    const offline = { state: 'waiting_to_retry', attempt: 1, retry_in_ms: 4000, reason: 'refused' };
    const calls = fakeApp({
      users: () => [ADA, GRACE, ALAN] as User[],
      conversations: () => [channel(8, 'design')],
      connection_state: () => offline,
      threads: () => [entry(design, 1)],
    });
    render(
      <ChatView user={ADA} status={status({ connection: offline as never })} onSignedOut={() => undefined} />,
    );
    // Read at once, offline too: the badge counts the unread reply.
    expect(await screen.findByTestId('threads-unread')).toHaveTextContent('1');
    await userEvent.click(screen.getByRole('button', { name: 'Threads, 1 unread' }));
    const panel = await screen.findByTestId('threads-panel');
    expect(within(panel).getByTestId('threads-offline')).toHaveTextContent(
      'Offline: the threads as last seen',
    );
    expect(within(panel).getByTestId('thread-entry')).toHaveTextContent('Which font for the logo?');
    expect(calls.some((c) => c.cmd === 'threads')).toBe(true);
  });

  it('says when there are no threads, and when the server is needed for the list', async () => {
    let answer: () => ThreadEntry[] = () => [];
    fakeApp({
      users: () => [ADA] as User[],
      threads: () => answer(),
    });
    render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Threads' }));
    expect(await screen.findByTestId('threads-empty')).toHaveTextContent('No threads yet');

    answer = () => {
      throw { code: 'server_unreachable', message: 'offline' };
    };
    await emit('engine-event', { type: 'thread_read', conversation_id: 1, root: 1 });
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'The list of threads needs the server, which is not reachable now.',
    );
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByTestId('threads-panel')).not.toBeInTheDocument();
  });
});
