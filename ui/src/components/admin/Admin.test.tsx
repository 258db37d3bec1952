import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { AdminUser, User } from '../../api';
import { fail, fakeApp, status, user } from '../../test/fakeApp';
import { ChatView } from '../ChatView';
import { AdminPanel } from './AdminPanel';

const ROOT = user({ id: 1, username: 'root', display_name: 'Root', is_admin: true });

function account(u: User, overrides: Partial<AdminUser> = {}): AdminUser {
  return {
    user: u,
    email: null,
    last_active_at: '2026-12-05T10:00:00Z',
    live_sessions: 1,
    two_factor: false,
    ...overrides,
  };
}

/** A little server: accounts by username, searched by prefix like the real one. */
function server(accounts: AdminUser[]) {
  const byId = new Map(accounts.map((a) => [a.user.id, a]));
  const update = (id: number, change: Partial<User>) => {
    const a = byId.get(id)!;
    const next = { ...a, user: { ...a.user, ...change } };
    byId.set(id, next);
    return next;
  };
  return {
    byId,
    handlers: {
      admin_users: (args: Record<string, unknown>) => {
        const q = String(args.query).toLowerCase();
        const items = [...byId.values()].filter(
          (a) =>
            a.user.username.startsWith(q) ||
            (a.user.display_name ?? '').toLowerCase().startsWith(q) ||
            (a.email ?? '').startsWith(q),
        );
        return { items, next_cursor: null };
      },
      media_usage: () => ({
        quota_bytes: null,
        users: [
          {
            user_id: 2,
            username: 'bob',
            used_bytes: 3 * 1024 * 1024,
            attachments: 2,
            attachment_bytes: 3 * 1024 * 1024,
            uploads_in_progress: 0,
            upload_bytes: 0,
          },
        ],
      }),
      deactivate_user: (args: Record<string, unknown>) =>
        update(args.userId as number, { deactivated: true }),
      reactivate_user: (args: Record<string, unknown>) =>
        update(args.userId as number, { deactivated: false }),
      set_server_admin: (args: Record<string, unknown>) => {
        const admins = [...byId.values()].filter((a) => a.user.is_admin && !a.user.deactivated);
        if (!args.admin && admins.length === 1 && admins[0].user.id === args.userId)
          fail({ code: 'last_admin', message: 'the server must keep at least one active admin' });
        return update(args.userId as number, { is_admin: args.admin as boolean });
      },
      admin_set_password: () => ({ signed_out: 2, mailed: false }),
      admin_reset_two_factor: () => 3,
    },
  };
}

const BOB = user({ id: 2, username: 'bob', display_name: 'Bob Builder' });
const CAROL = user({ id: 3, username: 'carol', display_name: 'Carol' });

function openPanel(
  accounts: AdminUser[] = [
    account(ROOT),
    account(BOB, { email: 'bob@example.org', two_factor: true }),
    account(CAROL),
  ],
) {
  const srv = server(accounts);
  const calls = fakeApp(srv.handlers);
  const changedMe: User[] = [];
  render(<AdminPanel me={ROOT} onClose={() => undefined} onMeChanged={(u) => changedMe.push(u)} />);
  return { calls, srv, changedMe };
}

const row = async (username: string) =>
  (await screen.findAllByTestId('admin-account')).find((r) => r.dataset.username === username)!;

describe('administration: who sees it', () => {
  it('is offered to server admins only', async () => {
    fakeApp({});
    const { unmount } = render(<ChatView user={user()} status={status()} onSignedOut={() => undefined} />);
    await screen.findByTestId('open-settings');
    expect(screen.queryByTestId('open-admin')).not.toBeInTheDocument();
    unmount();

    const srv = server([account(ROOT), account(BOB)]);
    fakeApp(srv.handlers);
    render(<ChatView user={ROOT} status={status()} onSignedOut={() => undefined} />);
    await userEvent.click(await screen.findByTestId('open-admin'));
    const panel = await screen.findByRole('dialog', { name: 'Administration' });
    expect(within(panel).getByLabelText('Search accounts')).toHaveFocus();
    expect(await within(panel).findAllByTestId('admin-account')).toHaveLength(2);
  });
});

describe('administration panel', () => {
  it('lists accounts with their badges, email and storage, and searches them', async () => {
    const { calls } = openPanel([
      account(ROOT),
      account(BOB, { email: 'bob@example.org' }),
      account({ ...CAROL, deactivated: true }, { last_active_at: null, live_sessions: 0 }),
    ]);
    const bob = await row('bob');
    expect(bob).toHaveTextContent('Bob Builder');
    expect(within(bob).getByTestId('admin-email')).toHaveTextContent('bob@example.org · verified');
    expect(await within(bob).findByTestId('admin-storage')).toHaveTextContent('3.0 MB stored');
    expect(within(await row('root')).getByTestId('badge-admin')).toBeInTheDocument();
    expect(within(await row('root')).getByText('You')).toBeInTheDocument();
    const carol = await row('carol');
    expect(within(carol).getByTestId('badge-deactivated')).toBeInTheDocument();
    expect(carol).toHaveTextContent('never signed in');
    expect(within(carol).getByTestId('admin-email')).toHaveTextContent('No verified email');

    await userEvent.type(screen.getByLabelText('Search accounts'), 'ca');
    await waitFor(() => expect(screen.getAllByTestId('admin-account')).toHaveLength(1));
    expect(screen.getByTestId('admin-account')).toHaveAttribute('data-username', 'carol');
    expect(calls.filter((c) => c.cmd === 'admin_users').at(-1)?.args).toMatchObject({
      query: 'ca',
      cursor: null,
    });

    await userEvent.clear(screen.getByLabelText('Search accounts'));
    await userEvent.type(screen.getByLabelText('Search accounts'), 'zed');
    expect(await screen.findByTestId('admin-no-match')).toHaveTextContent('No account matches “zed”.');
  });

  it('pages with the server’s cursor', async () => {
    const calls = fakeApp({
      media_usage: () => ({ quota_bytes: null, users: [] }),
      admin_users: (args) =>
        args.cursor === 'after-bob'
          ? { items: [account(CAROL)], next_cursor: null }
          : { items: [account(ROOT), account(BOB)], next_cursor: 'after-bob' },
    });
    render(<AdminPanel me={ROOT} onClose={() => undefined} onMeChanged={() => undefined} />);
    await userEvent.click(await screen.findByTestId('admin-more'));
    await waitFor(() => expect(screen.getAllByTestId('admin-account')).toHaveLength(3));
    expect(calls.filter((c) => c.cmd === 'admin_users').at(-1)?.args).toMatchObject({ cursor: 'after-bob' });
    expect(screen.queryByTestId('admin-more')).not.toBeInTheDocument();
  });

  it('deactivates only after a confirmation, and reactivates', async () => {
    const { calls } = openPanel();
    const bob = await row('bob');
    await userEvent.click(within(bob).getByRole('button', { name: 'Manage @bob' }));
    await userEvent.click(within(bob).getByTestId('admin-deactivate'));
    const confirm = within(bob).getByRole('alertdialog', { name: 'Deactivate @bob?' });
    expect(within(confirm).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await userEvent.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    expect(within(bob).queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(calls.some((c) => c.cmd === 'deactivate_user')).toBe(false);

    await userEvent.click(within(bob).getByTestId('admin-deactivate'));
    await userEvent.click(within(bob).getByTestId('admin-confirm-button'));
    expect(await within(bob).findByTestId('admin-note')).toHaveTextContent(
      '@bob is deactivated and signed out everywhere.',
    );
    expect(calls.find((c) => c.cmd === 'deactivate_user')?.args).toEqual({ userId: 2 });
    expect(within(bob).getByTestId('badge-deactivated')).toBeInTheDocument();
    // The confirmation is gone: the focus stays in the account's actions, not on the page.
    expect(within(bob).getByTestId('admin-reactivate')).toHaveFocus();

    await userEvent.click(within(bob).getByTestId('admin-reactivate'));
    expect(await within(bob).findByTestId('admin-note')).toHaveTextContent('@bob can sign in again.');
    expect(within(bob).queryByTestId('badge-deactivated')).not.toBeInTheDocument();
  });

  it("turns off someone's two-factor only after a confirmation, and only while it is on", async () => {
    const { calls } = openPanel();
    const carol = await row('carol');
    expect(carol).not.toHaveTextContent('two-factor on');
    await userEvent.click(within(carol).getByRole('button', { name: 'Manage @carol' }));
    expect(within(carol).queryByTestId('admin-reset-two-factor')).not.toBeInTheDocument();

    const bob = await row('bob');
    expect(bob).toHaveTextContent('two-factor on');
    await userEvent.click(within(bob).getByRole('button', { name: 'Manage @bob' }));
    await userEvent.click(within(bob).getByTestId('admin-reset-two-factor'));
    const confirm = within(bob).getByRole('alertdialog', { name: 'Turn off two-factor for @bob?' });
    expect(within(confirm).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    expect(calls.some((c) => c.cmd === 'admin_reset_two_factor')).toBe(false);
    await userEvent.click(within(confirm).getByRole('button', { name: 'Turn off two-factor' }));
    expect(await within(bob).findByTestId('admin-note')).toHaveTextContent(
      'Two-factor is off for @bob: the password alone signs them in now. 3 sessions were signed out.',
    );
    expect(calls.find((c) => c.cmd === 'admin_reset_two_factor')?.args).toEqual({ userId: 2 });
    expect(bob).not.toHaveTextContent('two-factor on');
    expect(within(bob).queryByTestId('admin-reset-two-factor')).not.toBeInTheDocument();
  });

  it('grants admin, and says so when the last admin would lose it', async () => {
    const { calls, changedMe } = openPanel();
    const bob = await row('bob');
    await userEvent.click(within(bob).getByTestId('admin-manage'));
    await userEvent.click(within(bob).getByTestId('admin-grant'));
    expect(await within(bob).findByTestId('admin-note')).toHaveTextContent('@bob is now a server admin.');
    expect(within(bob).getByTestId('badge-admin')).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'set_server_admin')?.args).toEqual({ userId: 2, admin: true });

    // Bob is an admin now; take it back from him, then try on root, the last one left.
    await userEvent.click(within(bob).getByTestId('admin-revoke'));
    await userEvent.click(within(bob).getByTestId('admin-confirm-button'));
    expect(await within(bob).findByTestId('admin-note')).toHaveTextContent(
      '@bob is no longer a server admin.',
    );

    const root = await row('root');
    await userEvent.click(within(root).getByTestId('admin-manage'));
    await userEvent.click(within(root).getByTestId('admin-revoke'));
    expect(within(root).getByRole('alertdialog')).toHaveTextContent('You will lose access to this panel.');
    await userEvent.click(within(root).getByTestId('admin-confirm-button'));
    expect(await within(root).findByRole('alert')).toHaveTextContent(
      'This is the server’s last admin. Make someone else an admin first.',
    );
    expect(within(root).getByTestId('badge-admin')).toBeInTheDocument();
    expect(changedMe).toEqual([]);
  });

  it('sets a password, checks its length first, and mails a reset link only to a verified address', async () => {
    const { calls } = openPanel();
    const bob = await row('bob');
    await userEvent.click(within(bob).getByTestId('admin-manage'));
    await userEvent.type(within(bob).getByLabelText('New password for @bob'), 'short');
    await userEvent.click(within(bob).getByTestId('admin-set-password'));
    expect(within(bob).getByTestId('admin-password-error')).toHaveTextContent('Use at least 8 characters.');
    expect(calls.some((c) => c.cmd === 'admin_set_password')).toBe(false);

    await userEvent.type(within(bob).getByLabelText('New password for @bob'), ' and long');
    await userEvent.click(within(bob).getByTestId('admin-set-password'));
    expect(await within(bob).findByTestId('admin-note')).toHaveTextContent(
      '@bob has a new password. 2 sessions were signed out.',
    );
    expect(calls.find((c) => c.cmd === 'admin_set_password')?.args).toEqual({
      userId: 2,
      newPassword: 'short and long',
    });
    expect(within(bob).getByLabelText('New password for @bob')).toHaveValue('');

    await userEvent.click(within(bob).getByTestId('admin-mail-reset'));
    expect(await within(bob).findByTestId('admin-note')).toHaveTextContent(
      'A reset link was mailed to bob@example.org.',
    );
    expect(calls.filter((c) => c.cmd === 'admin_set_password').at(-1)?.args).toEqual({
      userId: 2,
      newPassword: null,
    });

    const carol = await row('carol');
    await userEvent.click(within(carol).getByTestId('admin-manage'));
    expect(within(carol).getByTestId('admin-mail-reset')).toBeDisabled();
    expect(carol).toHaveTextContent('No verified email to mail it to.');
  });

  it('says when the server refuses the list', async () => {
    fakeApp({
      admin_users: () => fail({ code: 'forbidden', message: 'you may not do this' }),
      media_usage: () => fail({ code: 'forbidden', message: 'you may not do this' }),
    });
    render(<AdminPanel me={ROOT} onClose={() => undefined} onMeChanged={() => undefined} />);
    expect(await screen.findByTestId('admin-list-error')).toHaveTextContent(
      'Only server admins can do this, and you are not one any more.',
    );
  });
});
