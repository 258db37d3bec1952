import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import type { Conversation, Message, User } from '../api';
import { fail, fakeApp, status, timelineItem, user } from '../test/fakeApp';
import { ChatView } from './ChatView';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });

function group(overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: 9,
    kind: 'group',
    name: 'Lunch',
    created_at: '2026-11-23T10:00:00Z',
    last_activity_at: '2026-11-23T10:05:00Z',
    last_seq: 6,
    read_seq: 3,
    unread_count: 3,
    mention_count: 0,
    my_role: 'member',
    last_message: null,
    members: [
      { user_id: 1, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
      { user_id: 2, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
    ],
    muted: false,
    ...overrides,
  };
}

function message(seq: number, text: string): Message {
  return {
    id: 100 + seq,
    conversation_id: 9,
    seq,
    sender_id: 2,
    client_id: `c${seq}`,
    text,
    reply_to: null,
    reply_count: 0,
    thread_only: false,
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

describe('muting a conversation', () => {
  it('mutes from the header, and the sidebar shows it quietly', async () => {
    let muted = false;
    const calls = fakeApp({
      users: () => [ADA, GRACE] as User[],
      conversations: () => [group({ muted })],
      timeline: () => ({
        items: [timelineItem(message(4, 'soup?'))],
        has_more_before: false,
      }),
      set_conversation_muted: (args) => {
        muted = args.muted as boolean;
        return group({ muted });
      },
    });
    render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);

    const item = await screen.findByRole('button', { name: /Lunch/ });
    expect(within(item).getByLabelText('3 unread')).toBeInTheDocument();
    expect(item).not.toHaveClass('muted');
    await userEvent.click(item);
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'set_viewing').at(-1)?.args).toEqual({
        conversationId: 9,
        newestOnScreen: 4,
      }),
    );

    const toggle = await screen.findByRole('button', { name: 'Mute conversation' });
    expect(toggle).toHaveAttribute('aria-pressed', 'false');
    await userEvent.click(toggle);
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'set_conversation_muted')?.args).toEqual({
        conversationId: 9,
        muted: true,
      }),
    );
    // The engine says the list changed; the view re-reads it.
    await act(() => emit('engine-event', { type: 'conversations_changed' }));

    const unmute = await screen.findByRole('button', { name: 'Unmute conversation' });
    expect(unmute).toHaveAttribute('aria-pressed', 'true');
    const mutedItem = screen.getByRole('button', { name: /Lunch/ });
    expect(mutedItem).toHaveClass('muted');
    expect(within(mutedItem).getByRole('img', { name: 'Muted' })).toBeInTheDocument();
    expect(within(mutedItem).queryByLabelText('3 unread')).toBeNull();
    expect(mutedItem).not.toHaveClass('unread');

    await userEvent.click(unmute);
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'set_conversation_muted').at(-1)?.args).toEqual({
        conversationId: 9,
        muted: false,
      }),
    );
  });

  it('explains a refused change and leaves the button as it was', async () => {
    fakeApp({
      users: () => [ADA, GRACE] as User[],
      conversations: () => [group()],
      timeline: () => ({ items: [], has_more_before: false }),
      set_conversation_muted: () =>
        fail({ code: 'not_found', message: 'This conversation is no longer in the list.' }),
    });
    render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
    await userEvent.click(await screen.findByRole('button', { name: /Lunch/ }));
    await userEvent.click(await screen.findByRole('button', { name: 'Mute conversation' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('no longer in the list');
    expect(screen.getByRole('button', { name: 'Mute conversation' })).toHaveAttribute(
      'aria-pressed',
      'false',
    );
  });

  it('opens the conversation of a clicked notification at its message', async () => {
    fakeApp({
      users: () => [ADA, GRACE] as User[],
      conversations: () => [group(), group({ id: 10, name: 'Other', unread_count: 0 })],
      timeline: (args) => ({
        items: args.conversationId === 9 ? [4, 5, 6].map((seq) => timelineItem(message(seq, `m${seq}`))) : [],
        has_more_before: false,
      }),
    });
    render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
    await screen.findByRole('button', { name: /Other/ });
    await act(() => emit('open-message', { conversationId: 9, messageId: 105, seq: 5 }));
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('Lunch');
    await waitFor(() =>
      expect(document.querySelector('[data-message-id="105"]')).toHaveAttribute('data-highlighted', 'true'),
    );
    expect(document.querySelectorAll('[data-highlighted]')).toHaveLength(1);
  });
});
