import { act, render, screen } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import type { Conversation } from '../api';
import { fakeApp, status, user } from '../test/fakeApp';
import { ChatView } from './ChatView';
import userEvent from '@testing-library/user-event';

const DM: Conversation = {
  id: 7,
  kind: 'group',
  name: 'Design crew',
  created_at: '2026-11-23T10:00:00Z',
  last_activity_at: '2026-11-23T10:00:00Z',
  last_seq: 0,
  read_seq: 0,
  unread_count: 0,
  mention_count: 0,
  my_role: 'member',
  last_message: null,
  members: [],
  muted: false,
};

describe('upload progress', () => {
  it('shows the files of the open conversation going up, and drops the bar when the message is sent', async () => {
    fakeApp({ conversations: () => [DM], timeline: () => ({ items: [], has_more_before: false }) });
    render(<ChatView user={user()} status={status()} onSignedOut={() => undefined} />);
    await userEvent.click(await screen.findByRole('button', { name: /Design crew/ }));
    await screen.findByTestId('conversation-title');
    await act(() =>
      emit('engine-event', {
        type: 'upload_progress',
        outbox_id: 3,
        conversation_id: 7,
        file: 0,
        sent: 512 * 1024,
        total: 2 * 1024 * 1024,
      }),
    );
    const bar = await screen.findByTestId('upload-progress');
    expect(bar).toHaveTextContent('Sending file 1: 512 KiB of 2.0 MiB');
    expect(screen.getByRole('progressbar', { name: 'Upload 25%' })).toBeInTheDocument();
    await act(() =>
      emit('engine-event', { type: 'outbox_removed', id: 3, conversation_id: 7, delivered: true }),
    );
    expect(screen.queryByTestId('upload-progress')).not.toBeInTheDocument();
  });
});

describe('presence in the sidebar', () => {
  it('shows the other person’s presence on a direct message and follows presence events', async () => {
    fakeApp({
      users: () => [user(), user({ id: 2, username: 'grace' })],
      conversations: () => [
        {
          ...DM,
          id: 8,
          kind: 'direct',
          name: null,
          peer_presence: 'offline',
          members: [
            { user_id: 1, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
            { user_id: 2, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
          ],
        },
      ],
    });
    render(<ChatView user={user()} status={status()} onSignedOut={() => undefined} />);
    expect(await screen.findByRole('img', { name: 'offline' })).toBeInTheDocument();
    await act(() => emit('engine-event', { type: 'presence', user_id: 2, status: 'online' }));
    expect(await screen.findByRole('img', { name: 'online' })).toBeInTheDocument();
  });

  it('shows presence as unknown while the app is offline, not the last colour heard', async () => {
    fakeApp({
      users: () => [user(), user({ id: 2, username: 'grace' })],
      connection_state: () => ({ state: 'live' }),
      conversations: () => [
        {
          ...DM,
          id: 8,
          kind: 'direct',
          name: null,
          peer_presence: 'online',
          members: [
            { user_id: 1, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
            { user_id: 2, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
          ],
        },
      ],
    });
    render(<ChatView user={user()} status={status()} onSignedOut={() => undefined} />);
    expect(await screen.findByRole('img', { name: 'online' })).toBeInTheDocument();
    await act(() =>
      emit('engine-event', {
        type: 'connection',
        state: 'waiting_to_retry',
        attempt: 1,
        retry_in_ms: 5000,
        reason: 'down',
      }),
    );
    expect(await screen.findByRole('img', { name: 'presence unknown while offline' })).toBeInTheDocument();
    expect(screen.queryByRole('img', { name: 'online' })).not.toBeInTheDocument();
    await act(() => emit('engine-event', { type: 'connection', state: 'live' }));
    expect(await screen.findByRole('img', { name: 'online' })).toBeInTheDocument();
  });
});
