import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { App } from '../../App';
import { fail, fakeApp, status, user } from '../../test/fakeApp';

const TOKEN = 'A'.repeat(55);

async function openForgot() {
  render(<App />);
  await screen.findByRole('heading', { name: 'Welcome back' });
  await userEvent.click(screen.getByTestId('forgot-password'));
  await screen.findByRole('heading', { name: 'Reset your password' });
}

describe('forgot password', () => {
  it('asks for a reset, sets the new password with the mailed token and signs in with it', async () => {
    let confirmations = 0;
    const calls = fakeApp({
      request_password_reset: () => null,
      confirm_password_reset: () => {
        confirmations += 1;
        // The first try is a token that has run out; the second one is fresh.
        if (confirmations === 1)
          fail({ code: 'code_expired', message: 'this code has expired; ask for a new one' });
        return null;
      },
      login: () => user(),
    });
    await openForgot();
    await userEvent.type(screen.getByLabelText('Username or email'), 'ada');
    await userEvent.click(screen.getByTestId('reset-request'));

    // The same answer whether or not the account exists.
    expect(await screen.findByTestId('reset-sent')).toHaveTextContent(
      'If an account matches ada, we sent a reset token to its email address.',
    );
    expect(calls.find((c) => c.cmd === 'request_password_reset')?.args).toEqual({ login: 'ada' });

    // Checked here first: a token, and the same password twice.
    await userEvent.click(screen.getByTestId('reset-confirm'));
    expect(screen.getByTestId('error-reset-token')).toHaveTextContent('Paste the token from the mail.');
    await userEvent.type(screen.getByLabelText('Token from the mail'), ` ${TOKEN} `);
    await userEvent.type(screen.getByLabelText('New password'), 'a brand new secret');
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'a brand new secreT');
    await userEvent.click(screen.getByTestId('reset-confirm'));
    expect(screen.getByTestId('error-reset-repeat')).toHaveTextContent('The two passwords differ.');
    expect(calls.some((c) => c.cmd === 'confirm_password_reset')).toBe(false);

    await userEvent.clear(screen.getByLabelText('Repeat the new password'));
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'a brand new secret');
    await userEvent.click(screen.getByTestId('reset-confirm'));
    // The server's typed answer, in words: never the raw error.
    expect(await screen.findByTestId('error-reset-token')).toHaveTextContent(
      'This token has expired. Ask for a new one.',
    );
    expect(calls.some((c) => c.cmd === 'login')).toBe(false);

    await userEvent.click(screen.getByTestId('reset-confirm'));
    expect(await screen.findByTestId('welcome')).toHaveTextContent('Welcome, Ada Lovelace!');
    expect(calls.filter((c) => c.cmd === 'confirm_password_reset').at(-1)?.args).toEqual({
      token: TOKEN,
      newPassword: 'a brand new secret',
    });
    expect(calls.find((c) => c.cmd === 'login')?.args).toEqual({
      username: 'ada',
      password: 'a brand new secret',
    });
  });

  it('asked by email address, sets the password and fills the sign-in form', async () => {
    const calls = fakeApp({ request_password_reset: () => null, confirm_password_reset: () => null });
    await openForgot();
    await userEvent.type(screen.getByLabelText('Username or email'), 'ada@example.org');
    await userEvent.click(screen.getByTestId('reset-request'));
    await screen.findByTestId('reset-sent');
    await userEvent.type(screen.getByLabelText('Token from the mail'), TOKEN);
    await userEvent.type(screen.getByLabelText('New password'), 'a brand new secret');
    await userEvent.type(screen.getByLabelText('Repeat the new password'), 'a brand new secret');
    await userEvent.click(screen.getByTestId('reset-confirm'));

    // An address cannot sign in: back on the form, with the password filled and the news told.
    await screen.findByRole('heading', { name: 'Welcome back' });
    expect(screen.getByTestId('form-notice')).toHaveTextContent(
      'Your new password is set. Enter your username to sign in with it.',
    );
    expect(screen.getByLabelText('Password')).toHaveValue('a brand new secret');
    expect(calls.some((c) => c.cmd === 'login')).toBe(false);
  });

  it('says how long to wait when resets are throttled, and uses the server the form names', async () => {
    const calls = fakeApp({
      set_server_address: (args) => status({ mode: 'remote', serverAddress: args.address as string }),
      request_password_reset: () =>
        fail({
          code: 'rate_limited',
          message: 'too many mails for this account or requests from this address; try again later',
          retryAfterSecs: 42,
        }),
    });
    render(<App />);
    await screen.findByRole('heading', { name: 'Welcome back' });
    await userEvent.clear(screen.getByLabelText('Server address'));
    await userEvent.type(screen.getByLabelText('Server address'), 'https://chat.example.org');
    await userEvent.click(screen.getByTestId('forgot-password'));
    await userEvent.type(await screen.findByLabelText('Username or email'), 'ada');
    await userEvent.click(screen.getByTestId('reset-request'));
    expect(await screen.findByTestId('reset-error')).toHaveTextContent(
      'Too many tries for now. Try again in 42 seconds.',
    );
    expect(calls.find((c) => c.cmd === 'set_server_address')?.args).toEqual({
      address: 'https://chat.example.org',
    });
    await waitFor(() => expect(screen.queryByTestId('reset-sent')).not.toBeInTheDocument());

    await userEvent.click(screen.getByRole('button', { name: 'Back to sign in' }));
    await screen.findByRole('heading', { name: 'Welcome back' });
  });
});
