import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { AppStatus } from '../api';
import { App } from '../App';
import { fakeApp, status, user } from '../test/fakeApp';
import { ChatView } from './ChatView';

function hosting(on: boolean): AppStatus {
  const base = status();
  const address = on ? 'http://127.0.0.1:7860' : base.serverAddress;
  return {
    ...base,
    serverAddress: address,
    embedded: {
      ...base.embedded,
      address,
      hosting: on,
      lanAddresses: on ? ['http://192.168.1.20:7860'] : [],
    },
  };
}

describe('hosting the built-in server', () => {
  it('hosts for the network from the sign-in screen, shows the addresses to copy, and stops', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const calls = fakeApp({
      set_hosting: (args) => hosting(Boolean(args.on)),
      set_embedded_running: (args) =>
        args.run
          ? hosting(true)
          : { ...hosting(true), embedded: { ...hosting(true).embedded, state: 'stopped', address: null } },
    });
    render(<App />);
    const panel = await screen.findByRole('region', { name: 'Built-in server' });
    expect(within(panel).getByTestId('hosting-state')).toHaveTextContent('on this computer only');
    await userEvent.click(within(panel).getByRole('switch', { name: 'Let others on my network join' }));
    expect(await within(panel).findByTestId('lan-address')).toHaveTextContent('http://192.168.1.20:7860');
    expect(within(panel).getByTestId('hosting-state')).toHaveTextContent('Hosting for your network');
    expect(screen.getByLabelText('Server address')).toHaveValue('http://127.0.0.1:7860');
    await userEvent.click(within(panel).getByRole('button', { name: 'Copy' }));
    expect(writeText).toHaveBeenCalledWith('http://192.168.1.20:7860');
    await userEvent.click(within(panel).getByRole('button', { name: 'Stop' }));
    expect(await within(panel).findByTestId('hosting-state')).toHaveTextContent('Built-in server stopped');
    expect(within(panel).getByRole('button', { name: 'Start' })).toBeEnabled();
    expect(calls.filter((c) => c.cmd === 'set_embedded_running').map((c) => c.args.run)).toEqual([false]);
  });

  it('is reached from the server pill once signed in', async () => {
    fakeApp({ set_hosting: (args) => hosting(Boolean(args.on)) });
    render(<ChatView user={user()} status={status()} onSignedOut={() => undefined} />);
    await userEvent.click(await screen.findByRole('button', { name: 'Built-in server' }));
    const dialog = await screen.findByRole('dialog', { name: 'Built-in server' });
    await userEvent.click(within(dialog).getByRole('switch'));
    await within(dialog).findByText('http://192.168.1.20:7860');
    await userEvent.keyboard('{Escape}');
    expect(screen.getByTestId('server-pill')).toHaveTextContent('Hosting for your network');
  });

  it('offers to start the built-in server the person stopped, instead of counting down to reconnects', async () => {
    const stopped: AppStatus = {
      ...status(),
      connection: { state: 'waiting_to_retry', attempt: 2, retry_in_ms: 8000, reason: 'connection refused' },
      embedded: { ...status().embedded, state: 'stopped', address: null },
    };
    const calls = fakeApp({
      connection_state: () => stopped.connection,
      set_embedded_running: () => status(),
      reconnect_now: () => null,
    });
    render(<ChatView user={user()} status={stopped} onSignedOut={() => undefined} />);
    const banner = await screen.findByTestId('server-stopped-banner');
    expect(banner).toHaveTextContent('The built-in server is stopped.');
    expect(banner).not.toHaveTextContent(/Reconnecting/);
    await userEvent.click(within(banner).getByRole('button', { name: 'Start it' }));
    expect(calls.filter((c) => c.cmd === 'set_embedded_running').map((c) => c.args.run)).toEqual([true]);
  });
});
