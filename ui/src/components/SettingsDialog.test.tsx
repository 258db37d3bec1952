import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { Preferences } from '../api';
import { fail, fakeApp } from '../test/fakeApp';
import { SettingsDialog } from './SettingsDialog';

const NOW = Date.UTC(2026, 10, 23, 10, 0, 0);

function prefs(overrides: Partial<Preferences> = {}): Preferences {
  return {
    notifications: true,
    previews: true,
    sounds: true,
    volume: 70,
    doNotDisturb: { mode: 'off' },
    closeToTray: 'while_hosting',
    ...overrides,
  };
}

/** The app's side: preferences kept in memory, saved ones echoed back. */
function renderDialog(handlers: Parameters<typeof fakeApp>[0] = {}, initial = prefs()) {
  let saved = initial;
  const calls = fakeApp({
    preferences: () => saved,
    set_preferences: (args) => {
      saved = args.preferences as Preferences;
      return saved;
    },
    ...handlers,
  });
  const onClose = vi.fn();
  const onTheme = vi.fn();
  render(
    <>
      <button type="button">opener</button>
      <SettingsDialog theme="light" onTheme={onTheme} onClose={onClose} now={() => NOW} />
    </>,
  );
  return { calls, onClose, onTheme, saved: () => saved };
}

describe('settings dialog', () => {
  it('shows the saved preferences and saves each change at once', async () => {
    const { calls, saved } = renderDialog();
    const notifications = await screen.findByLabelText('Desktop notifications');
    expect(notifications).toBeChecked();
    expect(screen.getByLabelText('Show the message text in notifications')).toBeChecked();
    expect(screen.getByLabelText('Alert sounds')).toBeChecked();
    expect(screen.getByLabelText('Volume')).toHaveValue('70');

    await userEvent.click(screen.getByLabelText('Show the message text in notifications'));
    await waitFor(() => expect(saved().previews).toBe(false));
    await userEvent.click(notifications);
    await waitFor(() => expect(saved().notifications).toBe(false));
    // Without notifications, previews mean nothing.
    expect(screen.getByLabelText('Show the message text in notifications')).toBeDisabled();
    await userEvent.click(screen.getByLabelText('Alert sounds'));
    await waitFor(() => expect(saved().sounds).toBe(false));
    expect(screen.getByLabelText('Volume')).toBeDisabled();

    const sets = calls.filter((c) => c.cmd === 'set_preferences');
    expect(sets).toHaveLength(3);
    expect(sets[2].args.preferences).toEqual(prefs({ notifications: false, previews: false, sounds: false }));
  });

  it('pauses with do-not-disturb for a while and says until when', async () => {
    const { saved } = renderDialog();
    const dnd = await screen.findByLabelText('Pause notifications and sounds');
    expect(screen.getByTestId('dnd-status')).toHaveTextContent('Notifications and sounds are on.');
    await userEvent.selectOptions(dnd, '1h');
    await waitFor(() => expect(saved().doNotDisturb).toEqual({ mode: 'until', untilMs: NOW + 3600_000 }));
    expect(screen.getByTestId('dnd-status')).toHaveTextContent(/^Paused until /);
    expect(dnd).toHaveValue('current');
    await userEvent.selectOptions(dnd, 'on');
    await waitFor(() => expect(saved().doNotDisturb).toEqual({ mode: 'on' }));
    expect(screen.getByTestId('dnd-status')).toHaveTextContent('Paused until you turn it off.');
    await userEvent.selectOptions(dnd, 'off');
    await waitFor(() => expect(saved().doNotDisturb).toEqual({ mode: 'off' }));
  });

  it('chooses what closing the window does, tray while hosting by default', async () => {
    const { saved } = renderDialog();
    const choice = await screen.findByLabelText('When the window is closed');
    expect(choice).toHaveValue('while_hosting');
    expect(screen.getByTestId('close-to-tray-hint')).toHaveTextContent('hosts the server for your team');
    await userEvent.selectOptions(choice, 'always');
    await waitFor(() => expect(saved().closeToTray).toBe('always'));
    expect(screen.getByTestId('close-to-tray-hint')).toHaveTextContent('Quit is in the tray menu');
    await userEvent.selectOptions(choice, 'never');
    await waitFor(() => expect(saved()).toEqual(prefs({ closeToTray: 'never' })));
    expect(screen.getByTestId('close-to-tray-hint')).toHaveTextContent('Closing the window quits');
  });

  it('undoes and explains a refused change', async () => {
    renderDialog({
      set_preferences: () =>
        fail({
          code: 'validation_failed',
          message: 'This preference is not valid: volume must be 0 to 100.',
          fields: { volume: 'must be 0 to 100' },
        }),
    });
    const sounds = await screen.findByLabelText('Alert sounds');
    await userEvent.click(sounds);
    expect(await screen.findByRole('alert')).toHaveTextContent('volume must be 0 to 100');
    expect(sounds).toBeChecked();
  });

  it('tests the sound and reports a missing device by its code', async () => {
    const { calls } = renderDialog({
      test_sound: (args) =>
        args.sound === 'mention'
          ? fail({ code: 'audio_unavailable', message: 'No sound device could be opened: hw:63' })
          : null,
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Test sound' }));
    await waitFor(() => expect(calls.some((c) => c.cmd === 'test_sound')).toBe(true));
    expect(screen.queryByTestId('sound-error')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'Test mention sound' }));
    expect(await screen.findByTestId('sound-error')).toHaveTextContent(
      'No sound device is available on this computer',
    );
    expect(calls.filter((c) => c.cmd === 'test_sound').map((c) => c.args.sound)).toEqual([
      'message',
      'mention',
    ]);
  });

  it('is a labelled modal dialog: focus inside, Tab cycles, Esc closes', async () => {
    const { onClose, onTheme } = renderDialog();
    const dialog = screen.getByRole('dialog', { name: 'Settings' });
    expect(dialog).toHaveAttribute('aria-modal', 'true');
    await screen.findByLabelText('Desktop notifications');
    const theme = screen.getByLabelText('Theme');
    expect(theme).toHaveFocus();
    await userEvent.selectOptions(theme, 'dark');
    expect(onTheme).toHaveBeenCalledWith('dark');

    // From the last control, Tab wraps to the first (the dialog's close button); Shift+Tab from
    // the first goes to the last.
    screen.getByRole('button', { name: 'Done' }).focus();
    await userEvent.tab();
    expect(screen.getByRole('button', { name: 'Close' })).toHaveFocus();
    await userEvent.tab({ shift: true });
    expect(screen.getByRole('button', { name: 'Done' })).toHaveFocus();

    await userEvent.keyboard('{Escape}');
    expect(onClose).toHaveBeenCalledTimes(1);
  });
});
