import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import { App } from '../../App';
import { fakeApp, status, user } from '../../test/fakeApp';

/** Waits until the signed-in view listens to engine events (it subscribes after its first
 *  render): a connection change sent until the view shows it. */
async function listening() {
  await screen.findByTestId('welcome');
  const offline = {
    type: 'connection',
    state: 'waiting_to_retry',
    attempt: 1,
    retry_in_ms: 60_000,
    reason: 'test',
  };
  await waitFor(async () => {
    await act(() => emit('engine-event', offline));
    expect(screen.getByTestId('offline-banner')).toBeInTheDocument();
  });
}

describe('signed out from elsewhere', () => {
  it('goes back to sign in and says why when the session ends on the server', async () => {
    fakeApp({ current_user: () => user() });
    render(<App />);
    await listening();
    await act(() => emit('engine-event', { type: 'connection', state: 'signed_out' }));
    await screen.findByRole('heading', { name: 'Welcome back' });
    expect(screen.getByTestId('form-error')).toHaveTextContent(
      'You were signed out: this device was signed out from another device, or by a password change or reset.',
    );
  });

  it('opens on Sign in, not Create account, after the first account here was signed out', async () => {
    // The app started with nobody signed in here before; by now someone has.
    let starts = 0;
    fakeApp({
      app_status: () => status({ signedInBefore: starts++ > 0 }),
      current_user: () => user(),
    });
    render(<App />);
    await listening();
    await act(() => emit('engine-event', { type: 'connection', state: 'signed_out' }));
    await screen.findByRole('heading', { name: 'Welcome back' });
    expect(screen.getByTestId('form-error')).toHaveTextContent('You were signed out');
  });

  it('says nothing of the kind after Log out', async () => {
    fakeApp({
      current_user: () => user(),
      // The engine says "signed out" while the command is still answering.
      logout: async () => {
        await emit('engine-event', { type: 'connection', state: 'signed_out' });
        return null;
      },
    });
    render(<App />);
    await listening();
    await userEvent.click(screen.getByTestId('logout'));
    await screen.findByRole('heading', { name: 'Welcome back' });
    expect(screen.queryByTestId('form-error')).not.toBeInTheDocument();
  });
});
