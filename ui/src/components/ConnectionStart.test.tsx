import { render, screen, waitFor } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import { App } from '../App';
import { fakeApp, user } from '../test/fakeApp';

describe('the connection state at start', () => {
  it('is not overwritten by an answer older than an event already heard', async () => {
    // The engine goes live while the view asks for its state: the answer ("catching up") was
    // computed before the event, and arrives after it. Seen in the app as "Catching up…" forever.
    let asked = 0;
    fakeApp({
      current_user: () => user(),
      connection_state: async () => {
        asked += 1;
        await emit('engine-event', { type: 'connection', state: 'live' });
        return { state: 'catching_up' };
      },
    });
    render(<App />);
    await screen.findByTestId('welcome');
    await waitFor(() => expect(asked).toBe(1));
    // Let every pending answer land.
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByTestId('connecting-banner')).not.toBeInTheDocument();
  });
});

describe('the network coming back', () => {
  it('makes the engine retry at once', async () => {
    const calls = fakeApp({ current_user: () => user(), reconnect_now: () => null });
    render(<App />);
    await screen.findByTestId('welcome');
    window.dispatchEvent(new Event('online'));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'reconnect_now')).toBe(true));
  });
});
