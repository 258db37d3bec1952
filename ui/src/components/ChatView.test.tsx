import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import type { Conversation, Message, TimelineItem, User } from '../api';
import { fakeApp, status, timelineItem, user } from '../test/fakeApp';
import { ChatView } from './ChatView';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });

function conversation(overrides: Partial<Conversation> = {}): Conversation {
  return {
    id: 7,
    kind: 'direct',
    name: null,
    created_at: '2026-11-23T10:00:00Z',
    last_activity_at: '2026-11-23T10:05:00Z',
    last_seq: 4,
    read_seq: 4,
    unread_count: 0,
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

function message(seq: number, sender: number, text: string, overrides: Partial<Message> = {}): Message {
  return {
    id: seq === 0 ? 0 : 100 + seq,
    conversation_id: 7,
    seq,
    sender_id: sender,
    client_id: `c${seq}-${text}`,
    text,
    reply_to: null,
    reply_count: 0,
    thread_only: false,
    last_repliers: [],
    created_at: '2026-11-23T10:0' + Math.min(seq, 9) + ':00Z',
    edited_at: null,
    deleted: false,
    pinned: false,
    mentions: { user_ids: [], channel: false, here: false },
    reactions: [],
    attachments: [],
    ...overrides,
  };
}

function item(m: Message, state: TimelineItem['state'] = { state: 'synced' }): TimelineItem {
  return timelineItem(m, state);
}

function renderChat(handlers: Parameters<typeof fakeApp>[0]) {
  const calls = fakeApp({
    users: () => [ADA, GRACE] as User[],
    ...handlers,
  });
  render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
  return calls;
}

describe('chat view', () => {
  it('lists conversations with unread badges and opens a timeline with pending, failed and waiting messages', async () => {
    const calls = renderChat({
      conversations: () => [
        conversation({ unread_count: 2 }),
        conversation({ id: 8, kind: 'channel', name: 'general', unread_count: 1, mention_count: 1 }),
      ],
      timeline: () => ({
        items: [
          item(message(2, 2, 'hello Ada')),
          item(message(3, 1, 'hi Grace', { edited_at: '2026-11-23T10:04:00Z' })),
          item(message(0, 1, 'on its way'), { state: 'pending' }),
          item(message(0, 1, 'far too long'), {
            state: 'failed',
            outbox_id: 12,
            code: 'validation_failed',
            message: 'text is too long',
          }),
          item(message(0, 1, 'said after it'), { state: 'waiting', behind: 12 }),
        ],
        has_more_before: false,
      }),
      retry_outbox: () => true,
    });

    const dm = await screen.findByRole('button', { name: /@grace/ });
    expect(within(dm).getByLabelText('2 unread')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /#general/ })).toHaveTextContent('@1');
    await userEvent.click(dm);

    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('@grace');
    const messages = await screen.findAllByTestId('message');
    expect(messages).toHaveLength(5);
    expect(messages[0]).toHaveTextContent('Grace Hopper');
    expect(messages[0]).toHaveTextContent('hello Ada');
    expect(messages[1]).toHaveTextContent('(edited)');
    expect(within(messages[2]).getByTestId('pending')).toHaveTextContent('Sending…');
    expect(within(messages[3]).getByTestId('failed')).toHaveTextContent('text is too long');
    // What was said after a refused message waits behind it, and says so.
    expect(within(messages[4]).getByTestId('waiting')).toHaveTextContent('an earlier message');
    expect(within(messages[4]).queryByRole('button', { name: 'Retry' })).toBeNull();

    await userEvent.click(within(messages[3]).getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(calls.find((c) => c.cmd === 'retry_outbox')?.args).toEqual({ id: 12 }));
    // The view reports what is on screen (the newest confirmed message, not the pending ones);
    // what is read is the engine's to decide.
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'set_viewing').at(-1)?.args).toEqual({
        conversationId: 7,
        newestOnScreen: 3,
      }),
    );
  });

  it('reports only what is on screen: it never marks a conversation or a notification read itself', async () => {
    let newest = 4;
    const calls = renderChat({
      conversations: () => [conversation({ read_seq: 2, unread_count: 2 })],
      inbox: () => [
        {
          notification: {
            id: 31,
            kind: 'direct_message',
            actor_id: 2,
            conversation_id: 7,
            message_id: 104,
            contact_request_id: null,
            team_id: null,
            preview: 'are you there?',
            created_at: '2026-11-23T10:04:00Z',
            read_at: null,
          },
          read: false,
          actor: GRACE,
        },
      ],
      timeline: () => ({
        items: Array.from({ length: newest }, (_, i) => item(message(i + 1, 2, `message ${i + 1}`))),
        has_more_before: false,
      }),
    });

    await userEvent.click(await screen.findByRole('button', { name: /@grace/ }));
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'set_viewing').at(-1)?.args).toEqual({
        conversationId: 7,
        newestOnScreen: 4,
      }),
    );
    // A message arrives and is drawn: the view says so, and nothing more.
    newest = 5;
    await act(() => emit('engine-event', { type: 'timeline_changed', conversation_id: 7, seqs: [5] }));
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'set_viewing').at(-1)?.args).toEqual({
        conversationId: 7,
        newestOnScreen: 5,
      }),
    );
    expect(
      calls.filter((c) => ['mark_read', 'mark_inbox_read', 'mark_inbox_all_read'].includes(c.cmd)),
    ).toEqual([]);
  });

  it('opens on the conversation that was open last time, and remembers the one opened', async () => {
    const calls = renderChat({
      conversations: () => [conversation(), conversation({ id: 8, kind: 'channel', name: 'general' })],
      last_opened: () => 8,
      timeline: () => ({ items: [item(message(4, 2, 'where we left off'))], has_more_before: false }),
    });

    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('#general');
    expect(await screen.findByText('where we left off')).toBeInTheDocument();
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'set_viewing').map((c) => c.args)).toContainEqual({
        conversationId: 8,
        newestOnScreen: 4,
      }),
    );
  });

  it('draws a first screen read before it in its first frame, then opens the timeline window afresh', async () => {
    const general = conversation({ id: 8, kind: 'channel', name: 'general' });
    const calls = fakeApp({
      users: () => [ADA, GRACE] as User[],
      conversations: () => [conversation(), general],
      last_opened: () => 8,
      // The engine's answer comes later than the first frame.
      timeline: () =>
        new Promise((resolve) =>
          setTimeout(() => resolve({ items: [item(message(5, 2, 'newer'))], has_more_before: false }), 50),
        ),
    });
    const first = {
      conversations: [conversation(), general],
      selected: 8,
      page: { items: [item(message(4, 2, 'where we left off'))], has_more_before: false },
    };
    render(<ChatView user={ADA} status={status()} first={first} onSignedOut={() => undefined} />);
    // In the first frame: no waiting for the list, the conversation or its page.
    expect(screen.getByTestId('conversation-title')).toHaveTextContent('#general');
    expect(screen.getByText('where we left off')).toBeInTheDocument();
    // Then the pane opens the engine's window of it, whose first diff replaces the page.
    expect(await screen.findByText('newer')).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'open_window')?.args).toEqual({ conversationId: 8 });
  });

  it('sends with Enter, keeps Shift+Enter as a new line, and edits the last message with Up', async () => {
    const calls = renderChat({
      conversations: () => [conversation()],
      timeline: () => ({ items: [item(message(3, 1, 'my last one'))], has_more_before: false }),
      send_message: (args) => ({
        id: 1,
        conversation_id: args.conversationId,
        op: 'send',
        client_id: 'x',
        text: args.text,
        state: 'pending',
        attempts: 0,
        created_at: '2026-11-23T10:06:00Z',
      }),
      edit_message: () => null,
    });
    await userEvent.click(await screen.findByRole('button', { name: /@grace/ }));
    const composer = await screen.findByLabelText('Message');

    await userEvent.type(composer, 'first line{Shift>}{Enter}{/Shift}second line');
    expect(calls.some((c) => c.cmd === 'send_message')).toBe(false);
    await userEvent.type(composer, '{Enter}');
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'send_message')?.args).toEqual({
        conversationId: 7,
        text: 'first line\nsecond line',
        replyTo: null,
        threadOnly: false,
      }),
    );
    expect(composer).toHaveValue('');

    await userEvent.type(composer, '{ArrowUp}');
    expect(composer).toHaveValue('my last one');
    await userEvent.type(composer, ' (fixed){Enter}');
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'edit_message')?.args).toEqual({
        conversationId: 7,
        target: { id: 103 },
        text: 'my last one (fixed)',
      }),
    );
  });

  it('shows an offline banner with a retry button, and re-reads the timeline when the engine says so', async () => {
    let text = 'before';
    const calls = renderChat({
      conversations: () => [conversation()],
      timeline: () => ({ items: [item(message(3, 2, text))], has_more_before: false }),
      reconnect_now: () => null,
    });
    await userEvent.click(await screen.findByRole('button', { name: /@grace/ }));
    await screen.findByText('before');

    await act(() =>
      emit('engine-event', {
        type: 'connection',
        state: 'waiting_to_retry',
        attempt: 2,
        retry_in_ms: 4000,
        reason: 'refused',
      }),
    );
    const banner = await screen.findByTestId('offline-banner');
    expect(banner).toHaveTextContent('Offline.');
    await userEvent.click(within(banner).getByRole('button', { name: 'Retry now' }));
    expect(calls.some((c) => c.cmd === 'reconnect_now')).toBe(true);

    text = 'after';
    await act(() => emit('engine-event', { type: 'timeline_changed', conversation_id: 7, seqs: [4] }));
    await screen.findByText('after');
    await act(() => emit('engine-event', { type: 'connection', state: 'live' }));
    await waitFor(() => expect(screen.queryByTestId('offline-banner')).not.toBeInTheDocument());
  });

  it('searches messages (cache and server merged) and opens the hit', async () => {
    const calls = renderChat({
      conversations: () => [conversation(), conversation({ id: 8, kind: 'channel', name: 'general' })],
      timeline: () => ({ items: [], has_more_before: false }),
      search: () => [
        {
          message: message(3, 2, 'the quarterly report', { conversation_id: 8 }),
          snippet: [
            { text: 'the ', highlight: false },
            { text: 'quarterly', highlight: true },
            { text: ' report', highlight: false },
          ],
          local: true,
        },
        {
          message: message(1, 1, 'old quarterly numbers', { conversation_id: 7 }),
          snippet: [{ text: 'old quarterly numbers', highlight: false }],
          local: false,
        },
      ],
    });
    await userEvent.click(await screen.findByTestId('open-search'));
    await userEvent.type(screen.getByRole('searchbox', { name: 'Search messages' }), 'quart');
    const hits = await screen.findAllByTestId('search-hit');
    expect(hits).toHaveLength(2);
    expect(hits[0]).toHaveTextContent('#general · Grace Hopper');
    expect(within(hits[0]).getByText('quarterly').tagName).toBe('MARK');
    expect(hits[1]).toHaveTextContent('from the server');
    expect(calls.find((c) => c.cmd === 'search')?.args).toEqual({ query: 'quart', conversationId: null });
    await userEvent.click(hits[0]);
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('#general');
    // The panel stays open so the next hit is one click away.
    expect(screen.getByTestId('search-panel')).toBeInTheDocument();
  });

  it('jumps to a conversation with Ctrl+K and switches the theme', async () => {
    renderChat({
      conversations: () => [
        conversation(),
        conversation({ id: 8, kind: 'channel', name: 'general' }),
        conversation({ id: 9, kind: 'group', name: 'Design crew' }),
      ],
      timeline: () => ({ items: [], has_more_before: false }),
    });
    await screen.findByRole('button', { name: /Design crew/ });
    await userEvent.keyboard('{Control>}k{/Control}');
    const switcher = await screen.findByTestId('quick-switcher');
    await userEvent.type(within(switcher).getByRole('combobox'), 'des');
    expect(within(switcher).getAllByRole('option')).toHaveLength(1);
    await userEvent.keyboard('{Enter}');
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('Design crew');
    expect(screen.queryByTestId('quick-switcher')).not.toBeInTheDocument();

    await userEvent.selectOptions(screen.getByLabelText('Theme'), 'dark');
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(localStorage.getItem('jeco.theme')).toBe('dark');
    await userEvent.selectOptions(screen.getByLabelText('Theme'), 'light');
    expect(document.documentElement.dataset.theme).toBe('light');
  });

  it('hides the sidebar for a narrow window and shows it again, remembered across a restart', async () => {
    const handlers = {
      conversations: () => [
        conversation(),
        conversation({ id: 8, kind: 'channel' as const, name: 'general' }),
      ],
      timeline: () => ({ items: [], has_more_before: false }),
    };
    renderChat(handlers);
    await screen.findByRole('button', { name: /general/ });
    const toggle = screen.getByTestId('sidebar-toggle');
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await userEvent.click(toggle);
    expect(screen.queryByRole('navigation', { name: 'Conversations' })).not.toBeInTheDocument();
    expect(toggle).toHaveAccessibleName('Show conversations');
    expect(localStorage.getItem('jeco.sidebar')).toBe('hidden');

    // Still hidden after a restart; the quick switcher reaches conversations meanwhile.
    cleanup();
    renderChat(handlers);
    await screen.findByTestId('sidebar-toggle');
    expect(screen.queryByRole('navigation', { name: 'Conversations' })).not.toBeInTheDocument();
    await userEvent.keyboard('{Control>}k{/Control}');
    const switcher = await screen.findByTestId('quick-switcher');
    await userEvent.type(within(switcher).getByRole('combobox'), 'gen');
    await userEvent.keyboard('{Enter}');
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('general');

    // Ctrl+Shift+D brings it back.
    await userEvent.keyboard('{Control>}{Shift>}d{/Shift}{/Control}');
    expect(await screen.findByRole('navigation', { name: 'Conversations' })).toBeInTheDocument();
    expect(screen.getByTestId('sidebar-toggle')).toHaveAttribute('aria-expanded', 'true');
    expect(localStorage.getItem('jeco.sidebar')).toBeNull();
  });

  it('shows image attachments from their thumbnails and saves files', async () => {
    const image = {
      id: 5,
      kind: 'image' as const,
      name: 'cat.png',
      content_type: 'image/png',
      size: 2048,
      sha256: 'a'.repeat(64),
      width: 640,
      height: 480,
      has_thumbnail: true,
      created_at: '2026-11-23T10:03:00Z',
    };
    const file = {
      ...image,
      id: 6,
      kind: 'file' as const,
      name: 'notes.pdf',
      content_type: 'application/pdf',
      width: null,
      height: null,
      has_thumbnail: false,
    };
    const calls = renderChat({
      conversations: () => [conversation()],
      timeline: () => ({
        items: [item(message(3, 2, 'look', { attachments: [image, file] }))],
        has_more_before: false,
      }),
      attachment_data_url: () => 'data:image/png;base64,AAAA',
      save_attachment: () => '/home/ada/Downloads/notes.pdf',
    });
    await userEvent.click(await screen.findByRole('button', { name: /@grace/ }));
    const img = await screen.findByTestId('attachment-image');
    expect(img).toHaveAttribute('src', 'data:image/png;base64,AAAA');
    expect(img).toHaveAttribute('alt', 'cat.png');
    // Sized from the stored dimensions (640×480 scaled into 320×240), so nothing jumps.
    expect(img).toHaveStyle({ width: '320px', height: '240px' });
    expect(calls.find((c) => c.cmd === 'attachment_data_url')?.args).toMatchObject({ thumbnail: true });

    const chip = screen.getByTestId('attachment-file');
    expect(chip).toHaveTextContent('notes.pdf');
    expect(chip).toHaveTextContent('2.0 KiB');
    await userEvent.click(within(chip).getByRole('button', { name: 'Save notes.pdf' }));
    expect(await within(chip).findByText('Saved to /home/ada/Downloads/notes.pdf')).toBeInTheDocument();
  });

  it('attaches files from the picker and sends them with the text', async () => {
    const calls = renderChat({
      conversations: () => [conversation()],
      timeline: () => ({ items: [], has_more_before: false }),
      send_with_files: () => ({
        id: 3,
        conversation_id: 7,
        op: 'send',
        client_id: 'f',
        text: 'the notes',
        state: 'pending',
        attempts: 0,
        created_at: '2026-11-23T10:06:00Z',
      }),
    });
    await userEvent.click(await screen.findByRole('button', { name: /@grace/ }));
    const input = await screen.findByTestId('file-input');
    // The picker is an <input type=file> (not displayed) behind the 📎 button.
    await userEvent.upload(input, new File(['hello file'], 'notes.txt', { type: 'text/plain' }));
    const chips = await screen.findByLabelText('Files to send');
    expect(chips).toHaveTextContent('notes.txt');
    await userEvent.type(screen.getByLabelText('Message'), 'the notes{Enter}');
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'send_with_files')?.args).toEqual({
        conversationId: 7,
        text: 'the notes',
        files: [{ name: 'notes.txt', data_base64: btoa('hello file') }],
        replyTo: null,
        threadOnly: false,
      }),
    );
    expect(screen.queryByRole('list', { name: 'Files to send' })).not.toBeInTheDocument();
    expect(calls.some((c) => c.cmd === 'send_message')).toBe(false);
  });
});
