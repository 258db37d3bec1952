import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Attachment, Conversation, Message, User } from '../api';
import { fail, fakeApp, status, timelineItem, user } from '../test/fakeApp';
import { ChatView } from './ChatView';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });

function conversation(): Conversation {
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
  } as Conversation;
}

function image(id: number, name: string): Attachment {
  return {
    id,
    kind: 'image',
    name,
    content_type: 'image/png',
    size: 2048,
    sha256: 'a'.repeat(64),
    width: 800,
    height: 600,
    has_thumbnail: true,
    created_at: '2026-11-23T10:03:00Z',
  };
}

function message(seq: number, text: string, attachments: Attachment[], deleted = false): Message {
  return {
    id: 100 + seq,
    conversation_id: 7,
    seq,
    sender_id: 2,
    client_id: `c${seq}`,
    text,
    reply_to: null,
    reply_count: 0,
    thread_only: false,
    last_repliers: [],
    created_at: `2026-11-23T10:0${seq}:00Z`,
    edited_at: null,
    deleted,
    pinned: false,
    mentions: { user_ids: [], channel: false, here: false },
    reactions: [],
    attachments,
  };
}

/** A conversation with three images (two in one message) and a deleted one between them. */
function renderGallery(handlers: Parameters<typeof fakeApp>[0] = {}) {
  const calls = fakeApp({
    users: () => [ADA, GRACE] as User[],
    conversations: () => [conversation()],
    timeline: () => ({
      items: [
        timelineItem(message(1, 'beach', [image(1, 'beach.png'), image(2, 'dunes.png')])),
        timelineItem(message(2, 'gone', [image(9, 'gone.png')], true)),
        timelineItem(message(3, 'hills', [image(3, 'hills.png')])),
      ],
      has_more_before: false,
    }),
    attachment_data_url: (args) =>
      `data:image/png;base64,${(args.attachment as Attachment).name}-${args.thumbnail ? 'thumb' : 'full'}`,
    ...handlers,
  });
  render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
  return calls;
}

async function openConversation() {
  await userEvent.click(await screen.findByRole('button', { name: /@grace/ }));
  await waitFor(() => expect(screen.getAllByTestId('attachment-image')).toHaveLength(3));
}

describe('image viewer', () => {
  it('opens on a click, walks the conversation with ←/→ and closes with Esc', async () => {
    renderGallery();
    await openConversation();
    const opener = screen.getByRole('button', { name: 'Open dunes.png' });
    await userEvent.click(opener);

    const viewer = await screen.findByRole('dialog', { name: 'Image: dunes.png' });
    expect(viewer).toHaveAttribute('aria-modal', 'true');
    expect(viewer).toHaveFocus();
    // The full image, not the thumbnail.
    expect(await within(viewer).findByTestId('viewer-image')).toHaveAttribute(
      'src',
      'data:image/png;base64,dunes.png-full',
    );
    expect(within(viewer).getByTestId('viewer-position')).toHaveTextContent('2 of 3');

    await userEvent.keyboard('{ArrowRight}');
    expect(await screen.findByRole('dialog', { name: 'Image: hills.png' })).toBeInTheDocument();
    expect(screen.getByTestId('viewer-position')).toHaveTextContent('3 of 3');
    // The last image: no next.
    expect(screen.getByRole('button', { name: 'Next image' })).toBeDisabled();
    await userEvent.keyboard('{ArrowRight}');
    expect(screen.getByTestId('viewer-position')).toHaveTextContent('3 of 3');

    await userEvent.keyboard('{ArrowLeft}{ArrowLeft}');
    expect(await screen.findByRole('dialog', { name: 'Image: beach.png' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Previous image' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Next image' }));
    expect(await screen.findByRole('dialog', { name: 'Image: dunes.png' })).toBeInTheDocument();

    // Clicked to the last image, the next button goes disabled; the keys still work.
    await userEvent.click(screen.getByRole('button', { name: 'Next image' }));
    expect(await screen.findByRole('dialog', { name: 'Image: hills.png' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Next image' })).toBeDisabled();
    expect(screen.getByRole('dialog')).toContainElement(document.activeElement as HTMLElement);
    await userEvent.keyboard('{ArrowLeft}');
    expect(await screen.findByRole('dialog', { name: 'Image: dunes.png' })).toBeInTheDocument();

    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    // Focus goes back to the image that opened it.
    expect(opener).toHaveFocus();
  });

  it('fits by default and zooms with + and −, 0 fits again', async () => {
    renderGallery();
    await openConversation();
    await userEvent.click(screen.getByRole('button', { name: 'Open beach.png' }));
    const img = await screen.findByTestId('viewer-image');
    const zoom = screen.getByTestId('viewer-zoom');
    expect(zoom).toHaveTextContent('Fit');
    expect(screen.getByRole('button', { name: 'Fit to the window' })).toHaveAttribute('aria-pressed', 'true');

    // jsdom has no layout: "fit" counts as 100 %, so the first step in is 150 %.
    await userEvent.keyboard('+');
    expect(zoom).toHaveTextContent('150%');
    expect(img).toHaveStyle({ width: '1200px', height: '900px' });
    await userEvent.keyboard('+');
    expect(zoom).toHaveTextContent('200%');
    await userEvent.keyboard('-');
    await userEvent.keyboard('-');
    await userEvent.keyboard('-');
    expect(zoom).toHaveTextContent('75%');
    expect(img).toHaveStyle({ width: '600px', height: '450px' });
    await userEvent.click(screen.getByRole('button', { name: 'Zoom in' }));
    expect(zoom).toHaveTextContent('100%');
    await userEvent.keyboard('0');
    expect(zoom).toHaveTextContent('Fit');
    expect(img.style.width).toBe('');
    expect(img.closest('.viewer-stage')).toHaveClass('fit');
    // The smallest step is the floor.
    for (let i = 0; i < 8; i++) await userEvent.keyboard('-');
    expect(zoom).toHaveTextContent('25%');
  });

  it('saves through the Save-as dialog and copies the image', async () => {
    let saveAnswer: string | null = '/home/ada/Downloads/beach.png';
    const calls = renderGallery({
      save_attachment: () => saveAnswer,
      copy_image: () => null,
    });
    await openConversation();
    await userEvent.click(screen.getByRole('button', { name: 'Open beach.png' }));
    await screen.findByTestId('viewer-image');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByTestId('viewer-note')).toHaveTextContent(
      'Saved to /home/ada/Downloads/beach.png',
    );
    expect((calls.find((c) => c.cmd === 'save_attachment')?.args.attachment as Attachment).id).toBe(1);
    // Cancelled: nothing to say.
    saveAnswer = null;
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(screen.queryByTestId('viewer-note')).toBeNull());

    await userEvent.click(screen.getByRole('button', { name: 'Copy' }));
    expect(await screen.findByTestId('viewer-note')).toHaveTextContent('Copied to the clipboard');
    expect((calls.find((c) => c.cmd === 'copy_image')?.args.attachment as Attachment).id).toBe(1);
  });

  it('shows the thumbnail when the full image cannot be shown', async () => {
    renderGallery({
      attachment_data_url: (args) =>
        args.thumbnail
          ? 'data:image/png;base64,thumb'
          : fail({ code: 'payload_too_large', message: 'The image is too large to show.' }),
    });
    await openConversation();
    await userEvent.click(screen.getByRole('button', { name: 'Open hills.png' }));
    expect(await screen.findByTestId('viewer-image')).toHaveAttribute('src', 'data:image/png;base64,thumb');
  });
});
