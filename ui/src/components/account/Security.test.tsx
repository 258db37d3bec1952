import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { EmailStatus, SessionInfo } from '../../api';
import { fail, fakeApp, user } from '../../test/fakeApp';
import { ProfileDialog } from '../ProfileDialog';

function session(overrides: Partial<SessionInfo> = {}): SessionInfo {
  return {
    id: 1,
    client: 'jeco-desktop/0.1.0',
    address: '127.0.0.1',
    created_at: '2026-12-01T09:00:00Z',
    last_active_at: '2026-12-05T10:00:00Z',
    current: true,
    ...overrides,
  };
}

async function openSecurity(handlers: Parameters<typeof fakeApp>[0]) {
  const calls = fakeApp({
    my_profile: () => user(),
    my_email: () => ({ email: null, pending: null }),
    sessions: () => [session()],
    two_factor_status: () => ({ enabled: false, recovery_codes_left: 0, required: false }),
    ...handlers,
  });
  render(<ProfileDialog user={user()} onClose={() => undefined} onSaved={() => undefined} />);
  await userEvent.click(screen.getByTestId('profile-tab-security'));
  await screen.findByTestId('security-tab');
  return calls;
}

describe('security tab: email', () => {
  it('adds an address, refuses a wrong code with the server’s words, verifies it and removes it', async () => {
    let email: EmailStatus = { email: null, pending: null };
    const calls = await openSecurity({
      my_email: () => email,
      set_email: (args) => (email = { email: null, pending: args.email as string }),
      verify_email: (args) => {
        if (args.code !== '123456')
          fail({ code: 'code_invalid', message: 'this is not the code that was sent' });
        return (email = { email: email.pending, pending: null });
      },
      remove_email: () => (email = { email: null, pending: null }),
    });
    expect(await screen.findByText(/No email address yet/)).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Email address'), 'ada@example.org');
    await userEvent.click(screen.getByTestId('set-email'));
    expect(await screen.findByTestId('email-pending')).toHaveTextContent(
      'We sent a 6-digit code to ada@example.org.',
    );
    expect(calls.find((c) => c.cmd === 'set_email')?.args).toEqual({ email: 'ada@example.org' });

    // Not six digits: said here, nothing sent.
    await userEvent.type(screen.getByLabelText('Code from the mail'), '12a');
    await userEvent.click(screen.getByTestId('verify-email'));
    expect(screen.getByTestId('email-code-error')).toHaveTextContent('Enter the 6 digits from the mail.');
    expect(calls.some((c) => c.cmd === 'verify_email')).toBe(false);

    await userEvent.clear(screen.getByLabelText('Code from the mail'));
    await userEvent.type(screen.getByLabelText('Code from the mail'), '654321');
    await userEvent.click(screen.getByTestId('verify-email'));
    expect(await screen.findByTestId('email-code-error')).toHaveTextContent(
      'This is not the code that was sent.',
    );

    await userEvent.clear(screen.getByLabelText('Code from the mail'));
    await userEvent.type(screen.getByLabelText('Code from the mail'), '123456');
    await userEvent.click(screen.getByTestId('verify-email'));
    expect(await screen.findByTestId('email-verified')).toHaveTextContent('Verified');
    expect(screen.getByTestId('email-address')).toHaveTextContent('ada@example.org');
    expect(screen.getByText('Your email address is verified.')).toBeInTheDocument();

    await userEvent.click(
      within(screen.getByTestId('email-settings')).getByRole('button', { name: 'Remove' }),
    );
    expect(await screen.findByText(/No email address yet/)).toBeInTheDocument();
    expect(screen.queryByTestId('email-verified')).not.toBeInTheDocument();
  });

  it('says when mail is throttled, with the wait', async () => {
    await openSecurity({
      set_email: () =>
        fail({
          code: 'rate_limited',
          message: 'too many mails for this account or requests from this address; try again later',
          retryAfterSecs: 120,
        }),
    });
    await userEvent.type(await screen.findByLabelText('Email address'), 'ada@example.org');
    await userEvent.click(screen.getByTestId('set-email'));
    expect(await screen.findByTestId('email-error')).toHaveTextContent(
      'Too many tries for now. Try again in 2 minutes.',
    );
  });
});

describe('security tab: password', () => {
  it('changes the password, signing out the other devices unless unticked', async () => {
    let wrongOnce = true;
    const calls = await openSecurity({
      change_password: () => {
        if (wrongOnce) {
          wrongOnce = false;
          fail({
            code: 'validation_failed',
            message: 'Some fields are invalid.',
            fields: { current_password: 'this is not your current password' },
          });
        }
        return null;
      },
    });
    const form = within(screen.getByTestId('password-change'));
    expect(form.getByLabelText('Sign out my other devices')).toBeChecked();

    await userEvent.type(form.getByLabelText('Current password'), 'old secret');
    await userEvent.type(form.getByLabelText('New password'), 'a new secret');
    await userEvent.type(form.getByLabelText('Repeat the new password'), 'another secret');
    await userEvent.click(screen.getByTestId('change-password'));
    expect(screen.getByTestId('error-repeat')).toHaveTextContent('The two passwords differ.');
    expect(calls.some((c) => c.cmd === 'change_password')).toBe(false);

    await userEvent.clear(form.getByLabelText('Repeat the new password'));
    await userEvent.type(form.getByLabelText('Repeat the new password'), 'a new secret');
    await userEvent.click(screen.getByTestId('change-password'));
    expect(await screen.findByTestId('error-current_password')).toHaveTextContent(
      'This is not your current password.',
    );

    const sessionReads = calls.filter((c) => c.cmd === 'sessions').length;
    await userEvent.click(screen.getByTestId('change-password'));
    expect(await screen.findByTestId('password-changed')).toHaveTextContent(
      'Your password is changed, and your other devices are signed out.',
    );
    expect(calls.filter((c) => c.cmd === 'change_password').at(-1)?.args).toEqual({
      currentPassword: 'old secret',
      newPassword: 'a new secret',
      signOutOthers: true,
    });
    // The devices list is read again: the others are gone from it.
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'sessions').length).toBe(sessionReads + 1));
    expect(form.getByLabelText('Current password')).toHaveValue('');

    await userEvent.type(form.getByLabelText('Current password'), 'a new secret');
    await userEvent.type(form.getByLabelText('New password'), 'a newer secret');
    await userEvent.type(form.getByLabelText('Repeat the new password'), 'a newer secret');
    await userEvent.click(form.getByLabelText('Sign out my other devices'));
    await userEvent.click(screen.getByTestId('change-password'));
    expect(await screen.findByTestId('password-changed')).toHaveTextContent(/^Your password is changed\.$/);
    expect(calls.filter((c) => c.cmd === 'change_password').at(-1)?.args.signOutOthers).toBe(false);
  });
});

describe('security tab: signed-in devices', () => {
  it('lists the sessions with this device marked, signs out one and then all others', async () => {
    let sessions = [
      session(),
      session({ id: 2, client: 'jeco/0.1.0', address: '10.0.0.7', current: false }),
      session({ id: 3, client: null, address: null, current: false }),
    ];
    const calls = await openSecurity({
      sessions: () => sessions,
      end_session: (args) => {
        sessions = sessions.filter((s) => s.id !== args.sessionId);
        return null;
      },
      sign_out_others: () => {
        const ended = sessions.filter((s) => !s.current).length;
        sessions = sessions.filter((s) => s.current);
        return ended;
      },
    });
    const rows = await screen.findAllByTestId('session');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent('jeco-desktop/0.1.0');
    expect(rows[0]).toHaveTextContent('This device');
    expect(rows[0]).toHaveTextContent('127.0.0.1 · last active');
    expect(within(rows[0]).queryByRole('button', { name: 'Sign out' })).not.toBeInTheDocument();
    expect(rows[1]).toHaveTextContent('10.0.0.7');
    expect(rows[1]).not.toHaveTextContent('This device');
    expect(rows[2]).toHaveTextContent('Unknown app');

    await userEvent.click(within(rows[1]).getByRole('button', { name: 'Sign out' }));
    await waitFor(() => expect(screen.getAllByTestId('session')).toHaveLength(2));
    expect(calls.find((c) => c.cmd === 'end_session')?.args).toEqual({ sessionId: 2 });
    expect(screen.getByTestId('sessions-note')).toHaveTextContent('That device is signed out.');

    await userEvent.click(screen.getByTestId('sign-out-others'));
    await waitFor(() => expect(screen.getAllByTestId('session')).toHaveLength(1));
    expect(screen.getByTestId('sessions-note')).toHaveTextContent('1 other device is signed out.');
    // Nobody else left: nothing more to sign out.
    expect(screen.queryByTestId('sign-out-others')).not.toBeInTheDocument();
  });

  it('explains a session that had already ended', async () => {
    await openSecurity({
      sessions: () => [session(), session({ id: 2, current: false })],
      end_session: () => fail({ code: 'not_found', message: 'no such session' }),
    });
    const rows = await screen.findAllByTestId('session');
    await userEvent.click(within(rows[1]).getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'That is gone already: it may have ended meanwhile.',
    );
  });
});
