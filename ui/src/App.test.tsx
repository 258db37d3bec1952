import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { EMBEDDED, fail, fakeApp, status, user } from './test/fakeApp';

/** `sign_in`'s answer for an account without two-factor. */
function signedIn() {
  return { status: 'signed_in', user: user() };
}

async function renderLogin() {
  render(<App />);
  await screen.findByRole('heading', { name: 'Welcome back' });
}

describe('sign-in screen', () => {
  it('shows the embedded server address by default', async () => {
    fakeApp({});
    await renderLogin();
    expect(screen.getByLabelText('Server address')).toHaveValue(EMBEDDED);
    expect(screen.getByText(/Built-in server on this computer/)).toBeInTheDocument();
    expect(screen.queryByLabelText(/Display name/)).not.toBeInTheDocument();
  });

  it('signs in and shows the welcome view, then logs out', async () => {
    const calls = fakeApp({ sign_in: () => signedIn(), logout: () => null });
    await renderLogin();
    await userEvent.type(screen.getByLabelText('Username'), 'ada');
    await userEvent.type(screen.getByLabelText('Password'), 'secret-password');
    await userEvent.click(screen.getByTestId('submit'));

    expect(await screen.findByTestId('welcome')).toHaveTextContent('Welcome, Ada Lovelace!');
    expect(calls.find((c) => c.cmd === 'sign_in')?.args).toEqual({
      username: 'ada',
      password: 'secret-password',
    });
    // The address did not change, so the server was not switched.
    expect(calls.some((c) => c.cmd === 'set_server_address')).toBe(false);

    await userEvent.click(screen.getByTestId('logout'));
    await screen.findByRole('heading', { name: 'Welcome back' });
    expect(calls.some((c) => c.cmd === 'logout')).toBe(true);
  });

  it('opens on Create account on a new install, and on Sign in once someone signed in here', async () => {
    fakeApp({ app_status: () => status({ signedInBefore: false }) });
    const { unmount } = render(<App />);
    await screen.findByRole('heading', { name: 'Create your account' });
    expect(screen.getByLabelText(/Display name/)).toBeInTheDocument();
    unmount();

    fakeApp({ app_status: () => status({ signedInBefore: true }) });
    render(<App />);
    await screen.findByRole('heading', { name: 'Welcome back' });
  });

  it('registers with a display name', async () => {
    const calls = fakeApp({
      register: (args) => user({ username: 'grace', display_name: args.displayName as string }),
    });
    await renderLogin();
    await userEvent.click(screen.getByTestId('tab-register'));
    expect(screen.getByRole('heading', { name: 'Create your account' })).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Username'), 'grace');
    await userEvent.type(screen.getByLabelText(/Display name/), 'Grace Hopper');
    await userEvent.type(screen.getByLabelText('Password'), 'long-password');
    await userEvent.click(screen.getByTestId('submit'));

    expect(await screen.findByTestId('welcome')).toHaveTextContent('Welcome, Grace Hopper!');
    expect(calls.find((c) => c.cmd === 'register')?.args).toEqual({
      username: 'grace',
      password: 'long-password',
      displayName: 'Grace Hopper',
    });
  });

  it('puts server field errors under their inputs', async () => {
    fakeApp({
      register: () =>
        fail({
          code: 'validation_failed',
          message: 'Some fields are invalid.',
          fields: { username: 'may contain only a-z, 0-9', password: 'must be at least 8 characters' },
        }),
    });
    await renderLogin();
    await userEvent.click(screen.getByTestId('tab-register'));
    await userEvent.type(screen.getByLabelText('Username'), 'Bad Name');
    await userEvent.type(screen.getByLabelText('Password'), '12345678');
    await userEvent.click(screen.getByTestId('submit'));

    expect(await screen.findByTestId('error-username')).toHaveTextContent('May contain only a-z, 0-9');
    expect(screen.getByTestId('error-password')).toHaveTextContent('Must be at least 8 characters');
    expect(screen.getByLabelText('Username')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.queryByTestId('form-error')).not.toBeInTheDocument();
  });

  it('explains errors by code', async () => {
    let answer: () => unknown = () => fail({ code: 'invalid_credentials', message: 'server prose' });
    fakeApp({ sign_in: () => answer() });
    await renderLogin();
    await userEvent.type(screen.getByLabelText('Username'), 'ada');
    await userEvent.type(screen.getByLabelText('Password'), 'wrong-password');
    await userEvent.click(screen.getByTestId('submit'));
    expect(await screen.findByTestId('form-error')).toHaveTextContent('Wrong username or password.');

    answer = () => fail({ code: 'account_locked', message: 'locked', retryAfterSecs: 600 });
    await userEvent.click(screen.getByTestId('submit'));
    await waitFor(() =>
      expect(screen.getByTestId('form-error')).toHaveTextContent('Try again in 10 minutes.'),
    );

    answer = () => fail({ code: 'keychain_unavailable', message: 'the OS keychain could not save' });
    await userEvent.click(screen.getByTestId('submit'));
    await waitFor(() => expect(screen.getByTestId('form-error')).toHaveTextContent(/system keychain/));
  });

  it('marks a taken username on the field', async () => {
    fakeApp({ register: () => fail({ code: 'username_taken', message: 'taken' }) });
    await renderLogin();
    await userEvent.click(screen.getByTestId('tab-register'));
    await userEvent.type(screen.getByLabelText('Username'), 'ada');
    await userEvent.type(screen.getByLabelText('Password'), 'long-password');
    await userEvent.click(screen.getByTestId('submit'));
    expect(await screen.findByTestId('error-username')).toHaveTextContent('already taken');
  });

  it('checks required fields before calling the app', async () => {
    const calls = fakeApp({});
    await renderLogin();
    await userEvent.click(screen.getByTestId('submit'));
    expect(screen.getByTestId('error-username')).toHaveTextContent('Enter a username.');
    expect(screen.getByTestId('error-password')).toHaveTextContent('Enter a password.');
    expect(calls.map((c) => c.cmd).sort()).toEqual(['app_status', 'current_user']);
  });

  it('switches to another server before signing in, and reports an unreachable one on the field', async () => {
    const remote = 'https://chat.example.com';
    let reachable = false;
    const calls = fakeApp({
      set_server_address: (args) =>
        reachable
          ? status({ mode: 'remote', serverAddress: args.address as string })
          : fail({
              code: 'server_unreachable',
              message: 'Could not reach the server at https://chat.example.com.',
              fields: { server: 'Could not reach the server at https://chat.example.com.' },
            }),
      sign_in: () => signedIn(),
    });
    await renderLogin();
    const address = screen.getByLabelText('Server address');
    await userEvent.clear(address);
    await userEvent.type(address, remote);
    await userEvent.type(screen.getByLabelText('Username'), 'ada');
    await userEvent.type(screen.getByLabelText('Password'), 'secret-password');
    await userEvent.click(screen.getByTestId('submit'));

    expect(await screen.findByTestId('error-server-address')).toHaveTextContent('Could not reach the server');
    expect(calls.some((c) => c.cmd === 'sign_in')).toBe(false);

    reachable = true;
    await userEvent.click(screen.getByTestId('submit'));
    const view = await screen.findByTestId('signed-in');
    expect(within(view).getByText(remote)).toBeInTheDocument();
    const switches = calls.filter((c) => c.cmd === 'set_server_address');
    expect(switches.at(-1)?.args).toEqual({ address: remote });
  });

  it('shows a loading state while signing in', async () => {
    let finish: (u: unknown) => void = () => {};
    fakeApp({ sign_in: () => new Promise((resolve) => (finish = resolve)) });
    await renderLogin();
    await userEvent.type(screen.getByLabelText('Username'), 'ada');
    await userEvent.type(screen.getByLabelText('Password'), 'secret-password');
    await userEvent.click(screen.getByTestId('submit'));

    const button = await screen.findByRole('button', { name: 'Signing in…' });
    expect(button).toBeDisabled();
    expect(screen.getByLabelText('Username')).toBeDisabled();
    finish(signedIn());
    expect(await screen.findByTestId('welcome')).toBeInTheDocument();
  });
});

describe('start-up', () => {
  it('goes straight to the signed-in view when a session is saved', async () => {
    fakeApp({ current_user: () => user({ display_name: null, username: 'linus' }) });
    render(<App />);
    expect(await screen.findByTestId('welcome')).toHaveTextContent('Welcome, linus!');
    expect(screen.getByText('Built-in server')).toBeInTheDocument();
  });

  it('shows a keychain failure at start instead of hiding it', async () => {
    fakeApp({
      current_user: () =>
        fail({ code: 'keychain_unavailable', message: 'the OS keychain could not read the sign-in tokens' }),
    });
    render(<App />);
    expect(await screen.findByTestId('form-error')).toHaveTextContent('OS keychain could not read');
  });

  it('offers the built-in server when talking to another one', async () => {
    const calls = fakeApp({
      app_status: () => status({ mode: 'remote', serverAddress: 'https://chat.example.com' }),
      set_server_address: () => status(),
    });
    await renderLogin();
    expect(screen.getByLabelText('Server address')).toHaveValue('https://chat.example.com');
    await userEvent.click(screen.getByRole('button', { name: 'Use the built-in server instead' }));
    await waitFor(() => expect(screen.getByLabelText('Server address')).toHaveValue(EMBEDDED));
    expect(calls.find((c) => c.cmd === 'set_server_address')?.args).toEqual({ address: null });
  });
});
