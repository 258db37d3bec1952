import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Conversation, InboxItem } from '../api';
import { fail, fakeApp, status, user } from '../test/fakeApp';
import { ChatView } from './ChatView';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });

const GENERAL: Conversation = {
  id: 9,
  kind: 'channel',
  name: 'general',
  created_at: '2026-11-23T10:00:00Z',
  last_activity_at: '2026-11-23T10:00:00Z',
  last_seq: 3,
  read_seq: 1,
  unread_count: 2,
  mention_count: 1,
  my_role: 'member',
  last_message: null,
  members: [],
  muted: false,
};

function item(
  id: number,
  kind: InboxItem['notification']['kind'],
  read: boolean,
  preview: string,
): InboxItem {
  return {
    notification: {
      id,
      kind,
      actor_id: 2,
      conversation_id: 9,
      message_id: 40 + id,
      contact_request_id: null,
      team_id: null,
      preview,
      created_at: '2026-11-23T10:00:00Z',
      read_at: read ? '2026-11-23T10:01:00Z' : null,
    },
    read,
    actor: GRACE,
  };
}

describe('notifications panel', () => {
  it('lists what happened, opens the conversation of one, and marks everything read', async () => {
    let items = [
      item(2, 'mention', false, '@ada can you look?'),
      item(1, 'reply', true, '**done**, see `main.rs` :tada:'),
    ];
    const calls = fakeApp({
      users: () => [ADA, GRACE],
      conversations: () => [GENERAL],
      inbox: () => items,
      timeline: () => ({ items: [], has_more_before: false }),
      mark_inbox_read: (args) => {
        items = items.map((i) => (i.notification.id === args.id ? { ...i, read: true } : i));
        return 0;
      },
      mark_inbox_all_read: () => fail({ code: 'server_unreachable', message: 'cannot reach' }),
    });
    render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
    const bell = await screen.findByRole('button', { name: 'Notifications, 1 unread' });
    await userEvent.click(bell);
    const panel = await screen.findByRole('complementary', { name: 'Notifications' });
    const rows = within(panel).getAllByTestId('notification');
    expect(rows[0]).toHaveTextContent('Grace Hopper mentioned you in #general');
    expect(rows[0]).toHaveTextContent('(unread)');
    expect(rows[1]).toHaveTextContent('Grace Hopper replied to you in #general');
    // Previews are plain text: Markdown markers stripped, not rendered.
    expect(rows[1]).toHaveTextContent('done, see main.rs 🎉');
    expect(rows[1].querySelector('strong, code')).toBeNull();

    await userEvent.click(within(panel).getByRole('button', { name: 'Mark all read' }));
    expect(await within(panel).findByRole('alert')).toHaveTextContent('needs the server');

    await userEvent.click(rows[0]);
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('#general');
    expect(calls.find((c) => c.cmd === 'mark_inbox_read')?.args).toEqual({ id: 2 });
    await waitFor(() =>
      expect(screen.getByRole('button', { name: 'Notifications, 0 unread' })).toBeInTheDocument(),
    );
  });
});
