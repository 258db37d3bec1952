import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Conversation, Message, Thread, TimelineItem, User } from '../api';
import { fakeApp, user, timelineItem } from '../test/fakeApp';
import { emit } from '@tauri-apps/api/event';
import { ConversationPane } from './ConversationPane';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });
const ALAN = user({ id: 3, username: 'alan', display_name: 'Alan Turing' });
const USERS = new Map<number, User>([
  [1, ADA],
  [2, GRACE],
  [3, ALAN],
]);

function conversation(overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: 7,
    kind: 'group',
    name: 'Design crew',
    created_at: '2026-11-23T10:00:00Z',
    last_activity_at: '2026-11-23T10:05:00Z',
    last_seq: 9,
    read_seq: 9,
    unread_count: 0,
    mention_count: 0,
    my_role: 'member',
    last_message: null,
    members: [1, 2, 3].map((u) => ({
      user_id: u,
      role: 'member' as const,
      joined_at: '2026-11-23T10:00:00Z',
    })),
    muted: false,
    ...overrides,
  };
}

function message(seq: number, sender: number, text: string, overrides: Partial<Message> = {}): Message {
  return {
    id: 100 + seq,
    conversation_id: 7,
    seq,
    sender_id: sender,
    client_id: `c${seq}`,
    text,
    reply_to: null,
    reply_count: 0,
    thread_only: false,
    last_repliers: [],
    created_at: '2026-11-23T10:0' + Math.min(seq % 10, 9) + ':00Z',
    edited_at: null,
    deleted: false,
    pinned: false,
    mentions: { user_ids: [], channel: false, here: false },
    reactions: [],
    attachments: [],
    ...overrides,
  };
}

const item = (m: Message): TimelineItem => timelineItem(m);

function outbox(args: Record<string, unknown>) {
  return {
    id: 1,
    conversation_id: 7,
    op: 'send',
    client_id: 'x',
    text: args.text,
    state: 'pending',
    attempts: 0,
    created_at: '2026-11-23T10:06:00Z',
  };
}

function renderPane(handlers: Parameters<typeof fakeApp>[0], c: Conversation = conversation()) {
  const calls = fakeApp({ read_receipts: () => [], messages: () => [], ...handlers });
  const props = { conversation: c, me: 1, users: USERS, typing: [], onUnknownUsers: () => undefined };
  const view = render(<ConversationPane {...props} version={0} />);
  // The engine says the timeline changed: its window is re-read (and sent as diffs), the pane's
  // version moves on.
  const bump = async (version: number) => {
    view.rerender(<ConversationPane {...props} version={version} />);
    await act(() => emit('engine-event', { type: 'timeline_changed', conversation_id: c.id, seqs: [] }));
  };
  return { calls, bump };
}

async function messageWith(text: string) {
  const el = (await screen.findByText(text, { selector: '[data-testid=message-text]' })).closest('article');
  if (!el) throw new Error(`no message "${text}"`);
  return el as HTMLElement;
}

describe('conversation pane', () => {
  it('draws the engine’s window as its diffs say, asks for older pages, and never trims itself', async () => {
    const { calls } = renderPane({
      // No older history at first: the list does not ask for it while the diffs below are sent.
      timeline: () => ({
        items: [item(message(40, 2, 'line 40')), item(message(41, 2, 'line 41'))],
        has_more_before: false,
      }),
    });
    expect(await screen.findByText('line 41')).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'open_window')?.args).toEqual({ conversationId: 7 });
    const window = (diffs: unknown[]) =>
      act(() => emit('engine-event', { type: 'window', conversation_id: 7, diffs }));
    const shown = () => screen.getAllByTestId('message-text').map((e) => e.textContent);

    // A new message, an edit, the engine trimming the oldest while the reader follows.
    await window([{ op: 'push_back', item: item(message(42, 3, 'line 42')) }]);
    await window([{ op: 'set', index: 0, item: item(message(40, 2, 'line 40, edited')) }]);
    await waitFor(() => expect(shown()).toEqual(['line 40, edited', 'line 41', 'line 42']));
    await window([{ op: 'remove_front', count: 1 }]);
    await waitFor(() => expect(shown()).toEqual(['line 41', 'line 42']));
    // A pending send, then confirmed in place.
    const pending = timelineItem(message(0, 1, 'on my way', { client_id: 'c1' }), { state: 'pending' });
    await window([{ op: 'push_back', item: pending }]);
    await waitFor(() => expect(shown()).toEqual(['line 41', 'line 42', 'on my way']));
    await window([{ op: 'set', index: 2, item: item(message(43, 1, 'on my way', { client_id: 'c1' })) }]);
    await waitFor(() => expect(shown()).toEqual(['line 41', 'line 42', 'on my way']));
    // Another conversation's window is not this pane's.
    await act(() =>
      emit('engine-event', {
        type: 'window',
        conversation_id: 8,
        diffs: [{ op: 'push_back', item: item(message(1, 2, 'elsewhere')) }],
      }),
    );
    expect(screen.queryByText('elsewhere')).toBeNull();

    expect(screen.getByText('This is the beginning of the conversation.')).toBeInTheDocument();
    expect(calls.some((c) => c.cmd === 'window_load_older')).toBe(false);

    // Older history exists (the engine trimmed it away): the list asks the engine for it, and its
    // page arrives in front.
    await window([{ op: 'has_more_before', has_more_before: true }]);
    const button = await screen.findByRole('button', { name: 'Load older messages' });
    // (The list asks by itself when its top is in view; else the button does.)
    if (!calls.some((c) => c.cmd === 'window_load_older')) await userEvent.click(button);
    await waitFor(() => expect(calls.some((c) => c.cmd === 'window_load_older')).toBe(true));
    await window([
      { op: 'push_front', items: [item(message(39, 2, 'line 39'))] },
      { op: 'has_more_before', has_more_before: false },
    ]);
    await waitFor(() => expect(shown()).toEqual(['line 39', 'line 41', 'line 42', 'on my way']));
    expect(await screen.findByText('This is the beginning of the conversation.')).toBeInTheDocument();
  });

  it('replies with a quote bar (Esc cancels), shows the quoted parent and jumps to it', async () => {
    const { calls } = renderPane({
      timeline: () => ({
        items: [
          item(message(2, 2, 'the plan is ready')),
          item(message(3, 3, 'looks good', { reply_to: 102 })),
          item(message(4, 2, 'about the old one', { reply_to: 55 })),
        ],
        has_more_before: false,
      }),
      // The parent far back in history comes from the engine (cache, then server).
      messages: (args) =>
        (args.ids as number[]).includes(55) ? [message(1, 3, 'the first draft', { id: 55 })] : [],
      send_message: outbox,
      send_with_files: outbox,
    });
    const reply = await messageWith('looks good');
    expect(within(reply).getByTestId('reply-quote')).toHaveTextContent('Grace Hopper the plan is ready');
    expect(await screen.findByText('the first draft')).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'messages')?.args).toEqual({ conversationId: 7, ids: [55] });

    // Clicking the quote shows (and focuses, and highlights) the parent.
    await userEvent.click(within(reply).getByTestId('reply-quote'));
    const parent = await messageWith('the plan is ready');
    await waitFor(() => expect(parent).toHaveClass('highlighted'));
    await waitFor(() => expect(parent).toHaveFocus());

    // Reply from the message's actions: the quote bar appears; Esc cancels it.
    await userEvent.click(within(parent).getByRole('button', { name: 'Reply' }));
    const composer = screen.getByLabelText('Message');
    expect(screen.getByTestId('reply-bar')).toHaveTextContent('Replying to Grace Hopper: the plan is ready');
    await waitFor(() => expect(composer).toHaveFocus());
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByTestId('reply-bar')).not.toBeInTheDocument();

    await userEvent.click(within(parent).getByRole('button', { name: 'Reply' }));
    // Files sent with a reply reply too.
    await userEvent.upload(
      screen.getByTestId('file-input'),
      new File(['x'], 'plan.txt', { type: 'text/plain' }),
    );
    await userEvent.type(composer, 'the file{Enter}');
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'send_with_files')?.args).toMatchObject({
        text: 'the file',
        replyTo: 102,
      }),
    );
    expect(screen.queryByTestId('reply-bar')).not.toBeInTheDocument();

    await userEvent.click(within(parent).getByRole('button', { name: 'Reply' }));
    await userEvent.type(composer, 'count me in{Enter}');
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'send_message')?.args).toEqual({
        conversationId: 7,
        text: 'count me in',
        replyTo: 102,
        threadOnly: false,
      }),
    );
    expect(screen.queryByTestId('reply-bar')).not.toBeInTheDocument();
  });

  it('opens a thread from "N replies", replies in it, and follows changes live', async () => {
    let thread: Thread = {
      root: item(message(2, 2, 'shall we ship?', { reply_count: 1 })),
      replies: [item(message(3, 3, 'yes', { reply_to: 102 }))],
    };
    const { calls, bump } = renderPane({
      timeline: () => ({
        items: [item(message(2, 2, 'shall we ship?', { reply_count: 1 })), item(message(4, 1, 'other'))],
        has_more_before: false,
      }),
      thread: () => thread,
      send_message: outbox,
    });
    await userEvent.click(await screen.findByTestId('thread-link'));
    const panel = await screen.findByTestId('thread-panel');
    expect(within(panel).getByTestId('thread-root')).toHaveTextContent('shall we ship?');
    expect(await within(panel).findByText('yes')).toBeInTheDocument();
    expect(within(panel).getByText('1 reply')).toBeInTheDocument();
    // In the panel, answers go through its composer: no Reply or thread actions on its messages.
    expect(within(panel).queryByRole('button', { name: 'Reply' })).not.toBeInTheDocument();
    expect(within(panel).queryByRole('button', { name: 'Reply in thread' })).not.toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'thread')?.args).toEqual({ conversationId: 7, root: 102 });

    // A thread reply stays in the thread unless "Also send to …" is ticked.
    const alsoToChannel = within(panel).getByRole('checkbox', { name: /Also send to/ });
    expect(alsoToChannel).not.toBeChecked();
    await userEvent.type(within(panel).getByTestId('thread-composer'), 'on Friday{Enter}');
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'send_message')?.args).toEqual({
        conversationId: 7,
        text: 'on Friday',
        replyTo: 102,
        threadOnly: true,
      }),
    );
    await userEvent.click(alsoToChannel);
    await userEvent.type(within(panel).getByTestId('thread-composer'), 'tell everyone{Enter}');
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'send_message').map((c) => c.args)).toContainEqual({
        conversationId: 7,
        text: 'tell everyone',
        replyTo: 102,
        threadOnly: false,
      }),
    );

    // Someone else replies: the engine's change notice re-reads the thread.
    thread = {
      ...thread,
      replies: [...thread.replies, item(message(5, 2, 'Friday it is', { reply_to: 102 }))],
    };
    await bump(1);
    expect(await within(panel).findByText('Friday it is')).toBeInTheDocument();
    expect(within(panel).getByText('2 replies')).toBeInTheDocument();

    await userEvent.click(within(panel).getByRole('button', { name: 'Close thread' }));
    expect(screen.queryByTestId('thread-panel')).not.toBeInTheDocument();
  });

  it('records a voice note and attaches files in a thread, as replies to its root', async () => {
    const { calls } = renderPane({
      timeline: () => ({
        items: [item(message(2, 2, 'shall we ship?', { reply_count: 0 }))],
        has_more_before: false,
      }),
      thread: () => ({ root: item(message(2, 2, 'shall we ship?')), replies: [] }),
      voice_start: () => null,
      voice_send: outbox,
      send_with_files: outbox,
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Reply in thread' }));
    const panel = await screen.findByTestId('thread-panel');
    await userEvent.click(within(panel).getByRole('button', { name: 'Record a voice note' }));
    await userEvent.click(await within(panel).findByRole('button', { name: 'Send the voice note' }));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'voice_send')?.args).toEqual({
        conversationId: 7,
        replyTo: 102,
        threadOnly: true,
      }),
    );

    await userEvent.upload(
      within(panel).getByTestId('thread-file-input'),
      new File(['x'], 'notes.txt', { type: 'text/plain' }),
    );
    await userEvent.type(within(panel).getByTestId('thread-composer'), 'see file{Enter}');
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'send_with_files')?.args).toMatchObject({
        conversationId: 7,
        text: 'see file',
        replyTo: 102,
        threadOnly: true,
      }),
    );
  });

  it('asks before deleting a message: Cancel keeps it, Delete deletes it', async () => {
    const { calls } = renderPane({
      timeline: () => ({ items: [item(message(2, 1, 'a typo here'))], has_more_before: false }),
      delete_message: () => null,
    });
    const msg = await messageWith('a typo here');
    await userEvent.click(within(msg).getByRole('button', { name: 'Delete' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete this message?' });
    expect(dialog).toHaveTextContent('a typo here');
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(calls.some((c) => c.cmd === 'delete_message')).toBe(false);

    await userEvent.click(within(msg).getByRole('button', { name: 'Delete' }));
    const again = await screen.findByRole('dialog', { name: 'Delete this message?' });
    await userEvent.click(within(again).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'delete_message')).toHaveLength(1));
    expect(calls.find((c) => c.cmd === 'delete_message')?.args).toEqual({
      conversationId: 7,
      target: { id: 102 },
    });
  });

  it('reacts from the picker (search by name), toggles a chip, and says who reacted', async () => {
    const { calls } = renderPane({
      timeline: () => ({
        items: [
          item(
            message(2, 2, 'we won', {
              reactions: [{ emoji: '👍', count: 2, user_ids: [2, 1] }],
            }),
          ),
        ],
        has_more_before: false,
      }),
      react: () => null,
    });
    const msg = await messageWith('we won');
    const chip = within(msg).getByTestId('reaction');
    expect(chip).toHaveAttribute('title', 'Grace Hopper, Ada Lovelace reacted with :thumbsup:');
    expect(chip).toHaveAttribute('aria-pressed', 'true');
    await userEvent.click(chip);
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'react')?.args).toEqual({
        conversationId: 7,
        target: { id: 102 },
        emoji: '👍',
        add: false,
      }),
    );

    await userEvent.click(within(msg).getByRole('button', { name: 'Add reaction' }));
    const picker = screen.getByRole('dialog', { name: 'Add a reaction' });
    expect(within(picker).getByRole('group', { name: 'Frequently used' })).toBeInTheDocument();
    await userEvent.type(within(picker).getByLabelText('Search emoji'), 'tada');
    expect(within(picker).getByRole('button', { name: 'tada' })).toBeInTheDocument();
    await userEvent.keyboard('{Enter}');
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'react').map((c) => [c.args.emoji, c.args.add])).toEqual([
        ['👍', false],
        ['🎉', true],
      ]),
    );
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    // Used emoji come first next time.
    await userEvent.click(within(msg).getByRole('button', { name: 'Add reaction' }));
    const frequent = within(screen.getByRole('group', { name: 'Frequently used' })).getAllByRole('button');
    expect(frequent[0]).toHaveTextContent('🎉');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(within(msg).getByRole('button', { name: 'Add reaction' })).toHaveFocus();
  });

  it('pins a message, lists the pins, and jumps to one loaded from older history', async () => {
    const old = message(3, 3, 'the pinned decision', { pinned: true });
    const { calls } = renderPane({
      timeline: (args) =>
        args.before === null
          ? {
              items: [item(message(60, 2, 'recent news')), item(message(61, 1, 'mine'))],
              has_more_before: true,
            }
          : { items: [item(message(2, 2, 'older')), item(old)], has_more_before: false },
      set_pinned: (args) => message(60, 2, 'recent news', { pinned: args.pinned as boolean }),
      pins: () => [old],
    });
    const recent = await messageWith('recent news');
    await userEvent.click(within(recent).getByRole('button', { name: 'Pin' }));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'set_pinned')?.args).toEqual({
        conversationId: 7,
        messageId: 160,
        pinned: true,
      }),
    );

    await userEvent.click(screen.getByTestId('open-pins'));
    const panel = await screen.findByTestId('pinned-panel');
    const entry = await within(panel).findByTestId('pinned-message');
    expect(entry).toHaveTextContent('Alan Turing');
    expect(entry).toHaveTextContent('the pinned decision');
    await userEvent.click(within(entry).getByRole('button', { name: /the pinned decision/ }));
    // Not loaded yet: older pages are read until it is, then it is shown and highlighted.
    const target = await messageWith('the pinned decision');
    await waitFor(() => expect(target).toHaveClass('highlighted'));
    expect(within(target).getByTestId('pinned-mark')).toBeInTheDocument();
    // Read back by the engine: the jump, or the list's own older page when its top was in view first.
    expect(
      calls.find((c) => c.cmd === 'window_jump' || c.cmd === 'window_load_older')?.args.conversationId,
    ).toBe(7);
    const jump = calls.find((c) => c.cmd === 'window_jump');
    if (jump) expect(jump.args).toEqual({ conversationId: 7, messageId: 103 });
  });

  it('shows read receipts under the last message each member read', async () => {
    renderPane({
      timeline: () => ({
        items: [item(message(2, 1, 'one')), item(message(3, 1, 'two')), item(message(4, 1, 'three'))],
        has_more_before: false,
      }),
      read_receipts: () => [
        { user_id: 2, read_seq: 3 },
        { user_id: 3, read_seq: 9 },
        { user_id: 1, read_seq: 9 },
      ],
    });
    const two = await messageWith('two');
    expect(await within(two).findByTestId('receipts')).toHaveAccessibleName('Seen by Grace Hopper');
    const three = await messageWith('three');
    expect(within(three).getByTestId('receipts')).toHaveAccessibleName('Seen by Alan Turing');
    expect(within(three).getByTestId('receipts')).toHaveTextContent('AT');
    expect(within(await messageWith('one')).queryByTestId('receipts')).not.toBeInTheDocument();
  });

  it('marks the first unread message and jumps to it when it is further back', async () => {
    // Older history comes only once the button was clicked (the list may ask for it by itself
    // as soon as its top is in view: that waits too, and the jump goes after it).
    let clicked = () => {};
    const click = new Promise<void>((resolve) => (clicked = resolve));
    const { calls } = renderPane(
      {
        timeline: async (args) =>
          args.before === null
            ? {
                items: [item(message(40, 2, 'latest')), item(message(41, 3, 'very latest'))],
                has_more_before: true,
              }
            : await click.then(() => ({
                items: [item(message(20, 1, 'read before')), item(message(21, 2, 'first unread'))],
                has_more_before: false,
              })),
      },
      conversation({ read_seq: 20, unread_count: 3 }),
    );
    await screen.findByText('latest');
    // The first unread is older than what was loaded: no separator yet, a button instead.
    expect(screen.queryByTestId('unread-separator')).not.toBeInTheDocument();
    await userEvent.click(screen.getByTestId('jump-unread'));
    clicked();
    const separator = await screen.findByTestId('unread-separator');
    expect(separator.closest('[data-index]')).toHaveTextContent('first unread');
    expect(calls.find((c) => c.cmd === 'window_reach')?.args).toEqual({ conversationId: 7, seq: 21 });
    await waitFor(() => expect(screen.queryByTestId('jump-unread')).not.toBeInTheDocument());
  });

  it('completes @mentions and :emoji in the composer with the keyboard, and inserts from the emoji picker', async () => {
    const { calls } = renderPane({
      timeline: () => ({ items: [], has_more_before: false }),
      send_message: outbox,
    });
    const composer = await screen.findByLabelText('Message');
    await userEvent.type(composer, 'hi @a');
    const list = screen.getByRole('listbox', { name: 'Mention someone' });
    // Members match by username or any word of the display name; the user is not offered.
    expect(
      within(list)
        .getAllByRole('option')
        .map((o) => o.textContent),
    ).toEqual(['@alan Alan Turing']);
    await userEvent.keyboard('{Enter}');
    expect(composer).toHaveValue('hi @alan ');
    expect(screen.queryByRole('listbox')).not.toBeInTheDocument();

    await userEvent.type(composer, 'and @g');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('listbox')).not.toBeInTheDocument();
    await userEvent.type(composer, 'race :tad');
    expect(
      within(screen.getByRole('listbox', { name: 'Insert an emoji' })).getAllByRole('option')[0],
    ).toHaveTextContent('🎉 :tada:');
    await userEvent.keyboard('{Tab}');
    expect(composer).toHaveValue('hi @alan and @grace 🎉 ');

    await userEvent.click(screen.getByRole('button', { name: 'Insert emoji' }));
    await userEvent.click(
      within(screen.getByRole('dialog', { name: 'Insert an emoji' })).getAllByRole('button', {
        name: 'fire',
      })[0],
    );
    expect(composer).toHaveValue('hi @alan and @grace 🎉 🔥');
    await userEvent.type(composer, '{Enter}');
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'send_message')?.args).toMatchObject({
        text: 'hi @alan and @grace 🎉 🔥',
        replyTo: null,
        threadOnly: false,
      }),
    );
  });

  it('moves between messages with the arrow keys and reaches their actions with Tab', async () => {
    renderPane({
      timeline: () => ({
        items: [item(message(2, 2, 'first')), item(message(3, 3, 'second')), item(message(4, 2, 'third'))],
        has_more_before: false,
      }),
      react: () => null,
    });
    await screen.findByText('third');
    const list = screen.getByTestId('timeline');
    act(() => list.focus());
    fireEvent.keyDown(list, { key: 'End' });
    const third = await messageWith('third');
    await waitFor(() => expect(third).toHaveFocus());
    fireEvent.keyDown(third, { key: 'ArrowUp' });
    const second = await messageWith('second');
    await waitFor(() => expect(second).toHaveFocus());
    expect(second).toHaveAccessibleName(/^Alan Turing, .*: second$/);
    await userEvent.tab();
    expect(within(second).getByRole('button', { name: 'React 👍' })).toHaveFocus();
    expect(within(second).getByRole('toolbar')).toHaveAccessibleName("Actions for Alan Turing's message");
    fireEvent.keyDown(second, { key: 'Home' });
    await waitFor(() => expect(screen.getByText('first').closest('article')).toHaveFocus());
    // R replies to the focused message.
    const first = screen.getByText('first').closest('article') as HTMLElement;
    fireEvent.keyDown(first, { key: 'r' });
    expect(screen.getByTestId('reply-bar')).toHaveTextContent('Replying to Grace Hopper: first');
    expect(within(first).getByRole('button', { name: 'Reply' })).toHaveAttribute('aria-keyshortcuts', 'R');
  });

  it('keeps loaded messages when newer ones arrive, and older history is prepended in order', async () => {
    let newest = [item(message(10, 2, 'ten')), item(message(11, 2, 'eleven'))];
    const { bump } = renderPane({
      timeline: (args) =>
        args.before === null
          ? { items: newest, has_more_before: true }
          : { items: [item(message(8, 3, 'eight')), item(message(9, 3, 'nine'))], has_more_before: false },
    });
    await screen.findByText('eleven');
    await userEvent.click(screen.getByRole('button', { name: 'Load older messages' }));
    await screen.findByText('eight');
    expect(screen.getByText('This is the beginning of the conversation.')).toBeInTheDocument();
    // The newest page moves on (a page of two here): "ten" leaves it but stays on screen.
    newest = [item(message(11, 2, 'eleven')), item(message(12, 3, 'twelve'))];
    await bump(1);
    await screen.findByText('twelve');
    expect(screen.getAllByTestId('message-text').map((e) => e.textContent)).toEqual([
      'eight',
      'nine',
      'ten',
      'eleven',
      'twelve',
    ]);
  });

  it('edits with Up and cancels the edit with Esc', async () => {
    const { calls } = renderPane({
      timeline: () => ({ items: [item(message(3, 1, 'my words'))], has_more_before: false }),
    });
    const composer = await screen.findByLabelText('Message');
    await screen.findByText('my words');
    await userEvent.type(composer, '{ArrowUp}');
    expect(composer).toHaveValue('my words');
    expect(screen.getByText('Editing a message — Enter saves, Esc cancels.')).toBeInTheDocument();
    await userEvent.keyboard('{Escape}');
    expect(composer).toHaveValue('');
    expect(screen.queryByText(/Editing a message/)).not.toBeInTheDocument();
    expect(calls.some((c) => c.cmd === 'edit_message')).toBe(false);
  });

  it('renders message Markdown, highlights mentions and quotes replies as plain text', async () => {
    const { calls } = renderPane({
      timeline: () => ({
        items: [
          item(
            message(2, 2, '**Ship** it, @ada and @alan: see [the plan](https://example.com/plan) :tada:', {
              mentions: { user_ids: [1, 3], channel: false, here: false },
            }),
          ),
          item(message(3, 3, 'on it', { reply_to: 102 })),
          item(message(4, 3, '<img src=x onerror=alert(1)> [x](javascript:alert(1))')),
        ],
        has_more_before: false,
      }),
      open_link: () => null,
    });
    const texts = await screen.findAllByTestId('message-text');
    const first = texts[0];
    expect(first.querySelector('strong')).toHaveTextContent('Ship');
    expect([...first.querySelectorAll('.mention')].map((m) => [m.textContent, m.className])).toEqual([
      ['@ada', 'mention mention-me'],
      ['@alan', 'mention'],
    ]);
    expect(first).toHaveTextContent('🎉');
    // The reply's quote and the message's label are plain text.
    const reply = texts[1].closest('article')!;
    expect(within(reply).getByTestId('reply-quote')).toHaveTextContent(
      'Grace Hopper Ship it, @ada and @alan: see the plan 🎉',
    );
    expect(first.closest('article')!.getAttribute('aria-label')).toContain(': Ship it, @ada');
    // A link opens in the system browser.
    await userEvent.click(within(first).getByRole('link', { name: 'the plan' }));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'open_link')?.args).toEqual({ url: 'https://example.com/plan' }),
    );
    // Hostile text is text.
    expect(texts[2].querySelector('img, a')).toBeNull();
    expect(texts[2]).toHaveTextContent('<img src=x onerror=alert(1)> [x](javascript:alert(1))');
  });
});
