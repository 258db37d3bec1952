// The sidebar's "+" menus and what they open: the people picker (a direct message or a group from
// people found by search), the channel browser (join, leave, create) and the team dialogs.
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Channel, Conversation, Team, User } from '../api';
import { fakeApp, status, user } from '../test/fakeApp';
import { ChatView } from './ChatView';

const ADA = user();
const GRACE = user({ id: 2, username: 'grace', display_name: 'Grace Hopper' });
const ALAN = user({ id: 3, username: 'alan', display_name: 'Alan Turing' });

const TEAM: Team = {
  id: 3,
  name: 'Analytical Engines',
  created_at: '2026-11-23T10:00:00Z',
  my_role: 'member',
  member_count: 3,
  default_channel_id: 9,
};

function conversation(
  id: number,
  kind: Conversation['kind'],
  name: string | null,
  overrides: Partial<Conversation> = {},
): Conversation {
  return {
    id,
    kind,
    name,
    created_at: '2026-11-23T10:00:00Z',
    last_activity_at: '2026-11-23T10:00:00Z',
    last_seq: 1,
    read_seq: 1,
    unread_count: 0,
    mention_count: 0,
    my_role: 'member',
    last_message: null,
    members: [
      { user_id: 1, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
      { user_id: 2, role: 'member', joined_at: '2026-11-23T10:00:00Z' },
    ],
    channel:
      kind === 'channel'
        ? { team_id: 3, topic: null, private: false, archived: false, is_default: name === 'general' }
        : null,
    muted: false,
    ...overrides,
  };
}

function listed(id: number, name: string, overrides: Partial<Channel> = {}): Channel {
  return {
    id,
    name,
    member_count: 3,
    joined: false,
    team_id: 3,
    topic: null,
    private: false,
    archived: false,
    is_default: false,
    ...overrides,
  };
}

function renderChat(handlers: Parameters<typeof fakeApp>[0]) {
  const calls = fakeApp({
    users: () => [ADA, GRACE, ALAN] as User[],
    timeline: () => ({ items: [], has_more_before: false }),
    ...handlers,
  });
  render(<ChatView user={ADA} status={status()} onSignedOut={() => undefined} />);
  return calls;
}

async function choose(menu: string, item: string) {
  await userEvent.click(await screen.findByRole('button', { name: menu }));
  await userEvent.click(screen.getByRole('menuitem', { name: item }));
}

describe('"+" menus', () => {
  it('open with the keyboard, move with the arrows, and close with Esc back on the button', async () => {
    renderChat({});
    const plus = await screen.findByRole('button', { name: 'New conversation or team' });
    expect(plus).toHaveAttribute('aria-haspopup', 'menu');
    expect(plus).toHaveAttribute('aria-expanded', 'false');
    plus.focus();
    await userEvent.keyboard('{ArrowDown}');
    const menu = screen.getByRole('menu', { name: 'New conversation or team' });
    expect(plus).toHaveAttribute('aria-expanded', 'true');
    const items = within(menu).getAllByRole('menuitem');
    expect(items.map((i) => i.textContent)).toEqual([
      'New message',
      'New group',
      'Create a team',
      'Join a team',
    ]);
    expect(items[0]).toHaveFocus();
    await userEvent.keyboard('{ArrowDown}');
    expect(items[1]).toHaveFocus();
    await userEvent.keyboard('{ArrowUp}{ArrowUp}');
    expect(items[3]).toHaveFocus();
    await userEvent.keyboard('{Home}');
    expect(items[0]).toHaveFocus();
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('menu')).not.toBeInTheDocument();
    expect(plus).toHaveFocus();
    // A click outside closes it too.
    await userEvent.click(plus);
    expect(screen.getByRole('menu')).toBeInTheDocument();
    await userEvent.click(document.body);
    expect(screen.queryByRole('menu')).not.toBeInTheDocument();
  });

  it('the old permanent forms are gone from the sidebar', async () => {
    renderChat({});
    const sidebar = await screen.findByRole('navigation', { name: 'Conversations' });
    expect(within(sidebar).queryByRole('textbox')).not.toBeInTheDocument();
  });

  it('creates a team in a dialog and opens its #general', async () => {
    let made = false;
    const calls = renderChat({
      create_team: () => {
        made = true;
        return TEAM;
      },
      teams: () => (made ? [TEAM] : []),
      conversations: () => (made ? [conversation(9, 'channel', 'general')] : []),
    });
    await choose('New conversation or team', 'Create a team');
    const dialog = await screen.findByRole('dialog', { name: 'Create a team' });
    expect(within(dialog).getByLabelText('Team name')).toHaveFocus();
    await userEvent.type(within(dialog).getByLabelText('Team name'), 'Analytical Engines{Enter}');
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('#general');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'create_team')?.args).toEqual({ name: 'Analytical Engines' });
  });

  it('gives focus back to the "+" button when a dialog it opened closes', async () => {
    renderChat({});
    const plus = await screen.findByRole('button', { name: 'New conversation or team' });
    plus.focus();
    await userEvent.keyboard('{ArrowDown}{End}{Enter}');
    const dialog = await screen.findByRole('dialog', { name: 'Join a team' });
    expect(within(dialog).getByLabelText('Invite code')).toHaveFocus();
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(plus).toHaveFocus();
  });

  it('joins a team by invite code, explaining a bad code first', async () => {
    let joined = false;
    const calls = renderChat({
      join_invite: (args) => {
        if (args.code === 'wrong') throw { code: 'invite_not_found', message: 'No such invitation.' };
        joined = true;
        return TEAM;
      },
      teams: () => (joined ? [TEAM] : []),
      conversations: () => (joined ? [conversation(9, 'channel', 'general')] : []),
    });
    await choose('New conversation or team', 'Join a team');
    const dialog = await screen.findByRole('dialog', { name: 'Join a team' });
    const field = within(dialog).getByLabelText('Invite code');
    await userEvent.type(field, 'wrong{Enter}');
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('No such invitation.');
    await userEvent.clear(field);
    await userEvent.type(field, 'k3yc0de');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Join' }));
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('#general');
    expect(calls.filter((c) => c.cmd === 'join_invite').map((c) => c.args.code)).toEqual([
      'wrong',
      'k3yc0de',
    ]);
  });
});

describe('people picker', () => {
  it('finds people as you type and opens a direct message with the one picked', async () => {
    let list: Conversation[] = [];
    const calls = renderChat({
      conversations: () => list,
      search_users: (args) =>
        [ADA, GRACE, ALAN].filter((u) => u.username.startsWith(String(args.query)) || !args.query),
      open_direct_user: () => {
        list = [conversation(7, 'direct', null)];
        return list[0];
      },
    });
    await choose('New conversation or team', 'New message');
    const dialog = await screen.findByRole('dialog', { name: 'New message' });
    const search = within(dialog).getByRole('searchbox', { name: 'To' });
    expect(search).toHaveFocus();
    // Everyone but the user, before any typing.
    await within(dialog).findByText('Alan Turing');
    expect(within(dialog).queryByText('@ada')).not.toBeInTheDocument();
    const start = within(dialog).getByRole('button', { name: 'Open direct message' });
    expect(start).toBeDisabled();

    await userEvent.type(search, 'gr');
    await waitFor(() => expect(within(dialog).queryByText('Alan Turing')).not.toBeInTheDocument());
    // One search per pause in typing, not one per key.
    expect(calls.filter((c) => c.cmd === 'search_users').map((c) => c.args.query)).toEqual(['', 'gr']);
    const grace = within(dialog).getByRole('button', { name: /Grace Hopper/ });
    expect(grace).toHaveAttribute('aria-pressed', 'false');
    await userEvent.click(grace);
    expect(grace).toHaveAttribute('aria-pressed', 'true');
    expect(within(dialog).getByTestId('picked')).toHaveTextContent('Grace Hopper');
    // One person: no group name is asked for.
    expect(within(dialog).queryByLabelText('Group name')).not.toBeInTheDocument();
    await userEvent.click(start);
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('@grace');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'open_direct_user')?.args).toEqual({ userId: 2 });
  });

  it('turns into a group when a second person is picked, and needs a name for it', async () => {
    let list: Conversation[] = [];
    const calls = renderChat({
      conversations: () => list,
      search_users: () => [GRACE, ALAN],
      create_group: (args) => {
        list = [conversation(12, 'group', String(args.name))];
        return list[0];
      },
    });
    await choose('New conversation or team', 'New message');
    const dialog = await screen.findByRole('dialog', { name: 'New message' });
    await userEvent.click(await within(dialog).findByRole('button', { name: /Grace Hopper/ }));
    await userEvent.click(within(dialog).getByRole('button', { name: /Alan Turing/ }));
    expect(
      within(dialog)
        .getAllByTestId('picked')
        .map((p) => p.textContent),
    ).toEqual(['Grace Hopper×', 'Alan Turing×']);
    const start = within(dialog).getByRole('button', { name: 'Create group' });
    expect(start).toBeDisabled();
    await userEvent.type(within(dialog).getByLabelText('Group name'), 'Computing pioneers');
    // Removing a pick from its chip.
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove Alan Turing' }));
    expect(within(dialog).getByRole('button', { name: 'Open direct message' })).toBeEnabled();
    await userEvent.click(within(dialog).getByRole('button', { name: /Alan Turing/ }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create group' }));
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('Computing pioneers');
    expect(calls.find((c) => c.cmd === 'create_group')?.args).toEqual({
      name: 'Computing pioneers',
      memberIds: [2, 3],
    });
    expect(calls.some((c) => c.cmd === 'open_direct_user')).toBe(false);
  });

  it('New group asks for a name even with one person, and Enter picks the first one found', async () => {
    const calls = renderChat({
      search_users: (args) => [GRACE, ALAN].filter((u) => u.username.startsWith(String(args.query))),
      create_group: () => {
        throw { code: 'server_unreachable', message: 'unreachable' };
      },
    });
    await choose('New conversation or team', 'New group');
    const dialog = await screen.findByRole('dialog', { name: 'New group' });
    await userEvent.type(within(dialog).getByLabelText('Group name'), 'Pair');
    const search = within(dialog).getByRole('searchbox', { name: 'Add people' });
    await userEvent.type(search, 'al');
    await waitFor(() => {
      expect(within(dialog).queryByText('Grace Hopper')).not.toBeInTheDocument();
      expect(within(dialog).getByText('Alan Turing')).toBeInTheDocument();
    });
    await userEvent.type(search, '{Enter}');
    expect(within(dialog).getByTestId('picked')).toHaveTextContent('Alan Turing');
    expect(search).toHaveValue('');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create group' }));
    // Offline: said plainly, and the dialog keeps what was picked.
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('This needs the server');
    expect(within(dialog).getByTestId('picked')).toHaveTextContent('Alan Turing');
    expect(calls.find((c) => c.cmd === 'create_group')?.args).toEqual({ name: 'Pair', memberIds: [3] });
  });

  it('drops the answer to an older search that arrives after a newer one', async () => {
    let answerOld: (users: User[]) => void = () => undefined;
    renderChat({
      search_users: (args) =>
        args.query === 'g'
          ? new Promise<User[]>((resolve) => (answerOld = resolve))
          : args.query === 'ga'
            ? []
            : [GRACE, ALAN],
    });
    await choose('New conversation or team', 'New message');
    const dialog = await screen.findByRole('dialog', { name: 'New message' });
    const search = within(dialog).getByRole('searchbox', { name: 'To' });
    await within(dialog).findByText('Alan Turing');
    await userEvent.type(search, 'g');
    // Let the slow search for "g" start, then type on.
    await new Promise((r) => setTimeout(r, 300));
    await userEvent.type(search, 'a');
    await within(dialog).findByText(/Nobody found for “ga”/);
    answerOld([GRACE]);
    await new Promise((r) => setTimeout(r, 50));
    expect(within(dialog).queryByText('Grace Hopper')).not.toBeInTheDocument();
    expect(within(dialog).getByText(/Nobody found for “ga”/)).toBeInTheDocument();
  });
});

describe('section "+" buttons', () => {
  it('start a direct message or a group from their own section', async () => {
    renderChat({
      conversations: () => [conversation(7, 'direct', null), conversation(12, 'group', 'Crew')],
      search_users: () => [GRACE],
    });
    await userEvent.click(await screen.findByRole('button', { name: 'New direct message' }));
    await screen.findByRole('dialog', { name: 'New message' });
    await userEvent.keyboard('{Escape}');
    await userEvent.click(screen.getByRole('button', { name: 'New group' }));
    const dialog = await screen.findByRole('dialog', { name: 'New group' });
    expect(within(dialog).getByLabelText('Group name')).toBeInTheDocument();
  });
});

describe('channel browser', () => {
  it('lists a team’s channels with topic and members, joins one and opens it', async () => {
    let joined = false;
    const calls = renderChat({
      teams: () => [TEAM],
      conversations: () => [
        conversation(9, 'channel', 'general'),
        ...(joined ? [conversation(11, 'channel', 'design')] : []),
      ],
      team_channels: () => [
        listed(11, 'design', { topic: 'Gears and cards', member_count: 1 }),
        listed(9, 'general', { joined: true, is_default: true }),
        listed(13, 'ops', { joined: true, private: true, member_count: 2 }),
      ],
      join_channel: () => {
        joined = true;
        return conversation(11, 'channel', 'design');
      },
    });
    await choose('Channels of Analytical Engines', 'Browse channels');
    const dialog = await screen.findByRole('dialog', { name: 'Channels in Analytical Engines' });
    const rows = await within(dialog).findAllByTestId('channel-row');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent('#design');
    expect(rows[0]).toHaveTextContent('1 member');
    expect(rows[0]).toHaveTextContent('Gears and cards');
    expect(rows[2]).toHaveTextContent('2 members');
    expect(within(rows[2]).getByRole('img', { name: 'Private channel' })).toBeInTheDocument();
    // In #general already: open it, but leaving it is leaving the team.
    expect(within(rows[1]).getByRole('button', { name: 'Open #general' })).toBeInTheDocument();
    expect(within(rows[1]).queryByRole('button', { name: /Leave/ })).not.toBeInTheDocument();
    expect(within(rows[2]).getByRole('button', { name: 'Leave #ops' })).toBeInTheDocument();

    // The filter narrows by name or topic.
    await userEvent.type(within(dialog).getByRole('searchbox', { name: 'Find a channel' }), 'cards');
    expect(within(dialog).getAllByTestId('channel-row')).toHaveLength(1);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Join #design' }));
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('#design');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'join_channel')?.args).toEqual({ conversationId: 11 });
    expect(calls.find((c) => c.cmd === 'team_channels')?.args).toEqual({ teamId: 3 });
  });

  it('leaves a channel and shows the list again as the server has it', async () => {
    let inside = true;
    const calls = renderChat({
      teams: () => [TEAM],
      conversations: () => [conversation(9, 'channel', 'general')],
      team_channels: () => [listed(11, 'design', { joined: inside, member_count: inside ? 2 : 1 })],
      leave_conversation: () => {
        inside = false;
        return null;
      },
    });
    await choose('Channels of Analytical Engines', 'Browse channels');
    const dialog = await screen.findByRole('dialog', { name: 'Channels in Analytical Engines' });
    await userEvent.click(await within(dialog).findByRole('button', { name: 'Leave #design' }));
    await within(dialog).findByRole('button', { name: 'Join #design' });
    expect(within(dialog).getByTestId('channel-row')).toHaveTextContent('1 member');
    expect(calls.find((c) => c.cmd === 'leave_conversation')?.args).toEqual({ conversationId: 11 });
  });

  it('says when the server cannot be reached', async () => {
    renderChat({
      teams: () => [TEAM],
      team_channels: () => {
        throw { code: 'server_unreachable', message: 'unreachable' };
      },
    });
    await choose('Channels of Analytical Engines', 'Browse channels');
    const dialog = await screen.findByRole('dialog', { name: 'Channels in Analytical Engines' });
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'This needs the server, which is not reachable now.',
    );
  });

  it('creates a channel from the team menu and opens it', async () => {
    let made = false;
    const calls = renderChat({
      teams: () => [TEAM],
      conversations: () => [
        conversation(9, 'channel', 'general'),
        ...(made ? [conversation(14, 'channel', 'launch')] : []),
      ],
      team_channels: () => [],
      create_channel: () => {
        made = true;
        return conversation(14, 'channel', 'launch');
      },
    });
    await choose('Channels of Analytical Engines', 'Create a channel');
    const dialog = await screen.findByRole('dialog', { name: 'Channels in Analytical Engines' });
    await userEvent.type(within(dialog).getByLabelText('New channel'), 'launch');
    await userEvent.type(within(dialog).getByLabelText('Topic (optional)'), 'Countdown');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create channel' }));
    expect(await screen.findByTestId('conversation-title')).toHaveTextContent('#launch');
    expect(calls.find((c) => c.cmd === 'create_channel')?.args).toEqual({
      teamId: 3,
      name: 'launch',
      private: false,
      topic: 'Countdown',
    });
  });
});
