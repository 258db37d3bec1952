import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Conversation, Invite, Team, TeamMember, User } from '../api';
import { fail, fakeApp, status, user } from '../test/fakeApp';
import { ChatView } from './ChatView';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });

function team(overrides: Partial<Team> = {}): Team {
  return {
    id: 3,
    name: 'Analytical Engines',
    created_at: '2026-11-23T10:00:00Z',
    my_role: 'owner',
    member_count: 2,
    default_channel_id: 9,
    ...overrides,
  };
}

function channel(id: number, name: string, teamId = 3): Conversation {
  return {
    id,
    kind: 'channel',
    name,
    created_at: '2026-11-23T10:00:00Z',
    last_activity_at: '2026-11-23T10:00:00Z',
    last_seq: 1,
    read_seq: 1,
    unread_count: 0,
    mention_count: 0,
    my_role: 'member',
    last_message: null,
    members: [],
    channel: {
      team_id: teamId,
      topic: null,
      private: false,
      archived: false,
      is_default: name === 'general',
    },
    muted: false,
  };
}

function invite(overrides: Partial<Invite> = {}): Invite {
  return {
    id: 1,
    team_id: 3,
    code: 'k3yc0de',
    created_by: 1,
    created_at: '2026-11-23T10:00:00Z',
    expires_at: null,
    max_uses: null,
    uses: 0,
    revoked: false,
    ...overrides,
  };
}

const MEMBERS: TeamMember[] = [
  { user: ADA, role: 'owner', joined_at: '2026-11-23T10:00:00Z' },
  { user: GRACE, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
];

function renderChat(handlers: Parameters<typeof fakeApp>[0], me: User = ADA) {
  const calls = fakeApp({ users: () => [ADA, GRACE], ...handlers });
  render(<ChatView user={me} status={status()} onSignedOut={() => undefined} />);
  return calls;
}

afterEach(() => vi.restoreAllMocks());

describe('profile', () => {
  it('changes the display name and status, and the new name shows at once', async () => {
    const calls = renderChat({
      update_profile: (args) => {
        const change = args.change as { display_name: string; status_text: string };
        return { ...ADA, display_name: change.display_name, status_text: change.status_text };
      },
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Your profile' }));
    const dialog = await screen.findByRole('dialog', { name: 'Your profile' });
    const nameField = within(dialog).getByLabelText('Display name');
    expect(nameField).toHaveFocus();
    await userEvent.clear(nameField);
    await userEvent.type(nameField, 'Countess Ada');
    await userEvent.type(within(dialog).getByLabelText('Status'), 'computing');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await within(dialog).findByText('Saved.');
    expect(calls.find((c) => c.cmd === 'update_profile')?.args.change).toEqual({
      display_name: 'Countess Ada',
      status_text: 'computing',
    });
    expect(screen.getByRole('button', { name: 'Your profile' })).toHaveTextContent('Countess Ada');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
  });

  it("shows the server's profile, not the app's older copy, and saves only what was changed", async () => {
    // The app's copy is from sign-in; since then the status and bio were set (another device).
    const onServer = { ...ADA, status_text: 'in the lab', bio: 'Countess' };
    const calls = renderChat({
      my_profile: () => onServer,
      update_profile: (args) => ({ ...onServer, ...(args.change as object) }),
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Your profile' }));
    const dialog = await screen.findByRole('dialog', { name: 'Your profile' });
    await waitFor(() => expect(within(dialog).getByLabelText('Status')).toHaveValue('in the lab'));
    expect(within(dialog).getByLabelText('About you')).toHaveValue('Countess');

    const nameField = within(dialog).getByLabelText('Display name');
    await userEvent.clear(nameField);
    await userEvent.type(nameField, 'Ada L.');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await within(dialog).findByText('Saved.');
    expect(calls.find((c) => c.cmd === 'update_profile')?.args.change).toEqual({
      display_name: 'Ada L.',
    });
    expect(within(dialog).getByLabelText('Status')).toHaveValue('in the lab');
  });

  it('uploads a picture and says so plainly when the server is unreachable', async () => {
    let reachable = false;
    const calls = renderChat({
      set_avatar_bytes: () =>
        reachable
          ? { ...ADA, avatar: 'v1' }
          : fail({ code: 'server_unreachable', message: 'cannot reach http://127.0.0.1:1' }),
      avatar_data_url: () => 'data:image/png;base64,iVBORw0KGgo=',
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Your profile' }));
    const dialog = await screen.findByRole('dialog', { name: 'Your profile' });
    const picture = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'me.png', { type: 'image/png' });
    await userEvent.upload(within(dialog).getByTestId('avatar-input'), picture);
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('needs the server');
    reachable = true;
    await userEvent.upload(within(dialog).getByTestId('avatar-input'), picture);
    await within(dialog).findByRole('button', { name: 'Remove picture' });
    expect(calls.filter((c) => c.cmd === 'set_avatar_bytes').at(-1)?.args.dataBase64).toBe('iVBORw==');
    expect(await within(dialog).findByTestId('avatar-img')).toHaveAttribute(
      'src',
      'data:image/png;base64,iVBORw0KGgo=',
    );
  });
});

describe('team administration', () => {
  it('lists channels under their team; the owner changes roles and removes members', async () => {
    let members = [...MEMBERS];
    const calls = renderChat({
      teams: () => [team()],
      conversations: () => [channel(9, 'general'), channel(10, 'design')],
      team_members: () => members,
      set_team_role: (args) => {
        members = members.map((m) =>
          m.user.id === args.userId ? { ...m, role: args.role as TeamMember['role'] } : m,
        );
        return null;
      },
      remove_team_member: (args) => {
        members = members.filter((m) => m.user.id !== args.userId);
        return null;
      },
    });
    const section = await screen.findByRole('region', { name: 'Analytical Engines' });
    expect(
      within(section)
        .getAllByTestId('conversation')
        .map((b) => b.textContent),
    ).toEqual(['#general', '#design']);
    await userEvent.click(within(section).getByRole('button', { name: 'Manage Analytical Engines' }));
    const dialog = await screen.findByRole('dialog', { name: 'Analytical Engines' });
    await within(dialog).findByText('Grace Hopper');
    await userEvent.selectOptions(within(dialog).getByLabelText('Role of @grace'), 'admin');
    await waitFor(() =>
      expect(calls.some((c) => c.cmd === 'set_team_role' && c.args.role === 'admin')).toBe(true),
    );
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove @grace' }));
    await waitFor(() => expect(within(dialog).queryByText('Grace Hopper')).not.toBeInTheDocument());
  });

  it('makes an invite code to copy, and revokes it', async () => {
    let invites: Invite[] = [];
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const calls = renderChat({
      teams: () => [team({ my_role: 'admin' })],
      team_members: () => MEMBERS,
      invites: () => invites,
      create_invite: (args) => {
        const made = invite({ max_uses: args.maxUses as number, expires_at: '2099-01-01T00:00:00Z' });
        invites = [made];
        return made;
      },
      revoke_invite: () => {
        invites = invites.map((i) => ({ ...i, revoked: true }));
        return null;
      },
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Manage Analytical Engines' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.click(within(dialog).getByRole('tab', { name: 'Invites' }));
    await within(dialog).findByText('No invitations yet.');
    await userEvent.type(within(dialog).getByLabelText('Uses'), '5');
    await userEvent.click(within(dialog).getByRole('button', { name: 'New invite code' }));
    expect(await within(dialog).findByTestId('invite-code')).toHaveTextContent('k3yc0de');
    expect(within(dialog).getByTestId('invite')).toHaveTextContent('0 of 5 uses');
    expect(calls.find((c) => c.cmd === 'create_invite')?.args).toMatchObject({
      maxUses: 5,
      expiresInSecs: 86400,
    });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('k3yc0de');
    await within(dialog).findByRole('button', { name: 'Copied' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Revoke' }));
    await within(dialog).findByText('Revoked');
  });

  it('shows a plain member the members only, and explains a refusal', async () => {
    renderChat({
      teams: () => [team({ my_role: 'member' })],
      team_members: () => MEMBERS,
      create_channel: () => fail({ code: 'forbidden', message: 'forbidden' }),
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Manage Analytical Engines' }));
    const dialog = await screen.findByRole('dialog');
    await within(dialog).findByText('Grace Hopper');
    expect(within(dialog).queryByRole('tab', { name: 'Invites' })).not.toBeInTheDocument();
    expect(within(dialog).queryByLabelText('Role of @grace')).not.toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole('tab', { name: 'Channels' }));
    await userEvent.type(within(dialog).getByLabelText('New channel'), 'secret');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create channel' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('Only the team’s owner or admins');
  });
});

describe('contacts', () => {
  it('accepts a request, sends one, and opens a direct message with a contact', async () => {
    let accepted = false;
    const calls = renderChat({
      contacts: () => ({
        contacts: accepted ? [{ user: GRACE, since: '2026-11-23T10:00:00Z', presence: 'online' }] : [],
        incoming: accepted
          ? []
          : [
              {
                request: {
                  id: 4,
                  from_user_id: 2,
                  to_user_id: 1,
                  status: 'pending',
                  created_at: '2026-11-23T10:00:00Z',
                  resolved_at: null,
                },
                user: GRACE,
              },
            ],
        outgoing: [],
      }),
      answer_contact_request: () => {
        accepted = true;
        return null;
      },
      request_contact: () => null,
      open_direct: () => ({ ...channel(7, ''), kind: 'direct', name: null, channel: null }),
      timeline: () => ({ items: [], has_more_before: false }),
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Contacts and requests' }));
    const dialog = await screen.findByRole('dialog', { name: 'Contacts' });
    await userEvent.click(await within(dialog).findByRole('button', { name: 'Accept' }));
    await within(dialog).findByTestId('contact');
    expect(calls.find((c) => c.cmd === 'answer_contact_request')?.args).toEqual({
      requestId: 4,
      accept: true,
    });
    await userEvent.type(within(dialog).getByLabelText('Add a contact by username'), '@babbage');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Send request' }));
    await within(dialog).findByText('Request sent to @babbage.');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Message' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(calls.find((c) => c.cmd === 'open_direct')?.args).toEqual({ username: 'grace' });
  });
});
