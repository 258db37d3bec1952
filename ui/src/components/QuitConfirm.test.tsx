import { act, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import { fakeApp } from '../test/fakeApp';
import { QuitConfirm } from './QuitConfirm';

describe('quitting while others use the hosted server', () => {
  it('says so first, and quits only when confirmed', async () => {
    const calls = fakeApp({ quit_app: () => null });
    render(<QuitConfirm />);
    expect(screen.queryByRole('dialog')).toBeNull();

    await act(() => emit('quit-requested', { others: 2 }));
    const dialog = await screen.findByRole('dialog', { name: 'Quit Jeco Chat?' });
    expect(dialog).toHaveTextContent('2 other people are connected to the server this computer hosts');
    // The safe answer has the focus: Enter does not drop the others by accident.
    expect(screen.getByRole('button', { name: 'Keep running' })).toHaveFocus();
    await userEvent.click(screen.getByRole('button', { name: 'Keep running' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(calls.some((c) => c.cmd === 'quit_app')).toBe(false);

    await act(() => emit('quit-requested', { others: 1 }));
    expect(await screen.findByRole('dialog')).toHaveTextContent('1 other person is connected');
    await userEvent.click(screen.getByTestId('quit-anyway'));
    expect(calls.filter((c) => c.cmd === 'quit_app')).toHaveLength(1);
  });
});
