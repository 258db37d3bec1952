import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { describe, expect, it } from 'vitest';
import type { Conversation, Message, User } from '../api';
import { fakeApp, status, timelineItem, user } from '../test/fakeApp';
import { ChatView } from './ChatView';
import { Dialog } from './Dialog';
import { TIP_DELAY_MS, TipButton } from './TipButton';

const ADA = user();

const pause = (ms: number) => act(() => new Promise((r) => setTimeout(r, ms)));

function mine(seq: number, text: string): Message {
  return {
    id: 100 + seq,
    conversation_id: 7,
    seq,
    sender_id: 1,
    client_id: `c${seq}`,
    text,
    reply_to: null,
    reply_count: 0,
    thread_only: false,
    last_repliers: [],
    created_at: `2026-11-23T10:0${seq}:00Z`,
    edited_at: null,
    deleted: false,
    pinned: false,
    mentions: { user_ids: [], channel: false, here: false },
    reactions: [],
    attachments: [],
  };
}

function renderTimeline() {
  fakeApp({
    users: () => [ADA] as User[],
    conversations: () => [
      {
        id: 7,
        kind: 'group',
        name: 'crew',
        created_at: '2026-11-23T10:00:00Z',
        last_activity_at: '2026-11-23T10:05:00Z',
        last_seq: 2,
        read_seq: 2,
        unread_count: 0,
        mention_count: 0,
        my_role: 'owner',
        last_message: null,
        members: [{ user_id: 1, role: 'owner', joined_at: '2026-11-23T10:00:00Z' }],
        muted: false,
      } as Conversation,
    ],
    timeline: () => ({
      items: [timelineItem(mine(1, 'first')), timelineItem(mine(2, 'second'))],
      has_more_before: false,
    }),
    read_receipts: () => [],
  });
  render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
}

describe('toolbar tooltips', () => {
  it('are the app’s own, not native titles that linger over dialogs', async () => {
    renderTimeline();
    await userEvent.click(await screen.findByRole('button', { name: /crew/ }));
    const toolbars = await screen.findAllByRole('toolbar', { name: /Actions for/ });
    expect(toolbars).toHaveLength(2);
    for (const toolbar of toolbars) {
      for (const button of within(toolbar).getAllByRole('button')) {
        expect(button).not.toHaveAttribute('title');
      }
    }
  });

  it('shows after a rest on the button, hides on the click that opens a dialog, and stays hidden', async () => {
    renderTimeline();
    await userEvent.click(await screen.findByRole('button', { name: /crew/ }));
    const [first] = await screen.findAllByRole('toolbar', { name: /Actions for/ });
    const remove = within(first).getByRole('button', { name: 'Delete' });

    await userEvent.hover(remove);
    expect(screen.queryByRole('tooltip')).toBeNull();
    const tip = await screen.findByRole('tooltip', {}, { timeout: TIP_DELAY_MS + 1000 });
    expect(tip).toHaveTextContent('Delete…');
    expect(remove).toHaveAttribute('aria-describedby', tip.id);

    await userEvent.click(remove);
    expect(await screen.findByRole('dialog', { name: 'Delete this message?' })).toBeInTheDocument();
    expect(screen.queryByRole('tooltip')).toBeNull();
    // The pointer has not moved: the tooltip does not come back over the dialog.
    await pause(TIP_DELAY_MS + 200);
    expect(screen.queryByRole('tooltip')).toBeNull();
  });
});

/** A button and a dialog that opens without the button being pressed (a shortcut, an event). */
function OpensElsewhere() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <TipButton tip="Pin" onClick={() => undefined}>
        📌
      </TipButton>
      <button type="button" data-testid="shortcut" onClick={() => setOpen(true)} />
      {open && (
        <Dialog title="Something else" onClose={() => setOpen(false)}>
          <button type="button">Inside</button>
        </Dialog>
      )}
    </>
  );
}

describe('TipButton', () => {
  it('hides when a dialog opens elsewhere and never shows over a modal dialog', async () => {
    fakeApp({});
    render(<OpensElsewhere />);
    const pin = screen.getByRole('button', { name: 'Pin' });
    await userEvent.hover(pin);
    await screen.findByRole('tooltip', {}, { timeout: TIP_DELAY_MS + 1000 });
    // The dialog takes the focus: the tooltip goes.
    act(() => screen.getByTestId('shortcut').click());
    await screen.findByRole('dialog', { name: 'Something else' });
    await waitFor(() => expect(screen.queryByRole('tooltip')).toBeNull());
    // And a new rest on the button, under the open dialog, shows nothing.
    await userEvent.unhover(pin);
    await userEvent.hover(pin);
    await pause(TIP_DELAY_MS + 200);
    expect(screen.queryByRole('tooltip')).toBeNull();
  });

  it('shows for keyboard focus and hides on Escape', async () => {
    fakeApp({});
    render(<OpensElsewhere />);
    await userEvent.tab();
    const pin = screen.getByRole('button', { name: 'Pin' });
    expect(pin).toHaveFocus();
    expect(await screen.findByRole('tooltip')).toHaveTextContent('Pin');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('tooltip')).toBeNull();
  });
});
