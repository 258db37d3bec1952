import { useEffect, useId, useState } from 'react';
import { api, CloseToTray, DoNotDisturb, Preferences, Sound, toCommandError } from '../api';
import type { Theme } from '../theme';
import { Dialog } from './Dialog';
import { formatDate } from '../dates';

interface Props {
  theme: Theme;
  onTheme: (theme: Theme) => void;
  onClose: () => void;
  /** For tests: "now" in milliseconds. */
  now?: () => number;
}

const HOUR = 3600_000;

/** The do-not-disturb choices offered; `until` ones are computed when picked. */
type DndChoice = 'off' | 'on' | '1h' | '8h' | 'morning' | 'current';

function tomorrowMorning(now: number): number {
  const d = new Date(now);
  d.setDate(d.getDate() + 1);
  d.setHours(8, 0, 0, 0);
  return d.getTime();
}

function clock(ms: number): string {
  return formatDate(ms, 'weekdayTime');
}

function dndOf(choice: DndChoice, now: number, current: DoNotDisturb): DoNotDisturb {
  switch (choice) {
    case 'off':
      return { mode: 'off' };
    case 'on':
      return { mode: 'on' };
    case '1h':
      return { mode: 'until', untilMs: now + HOUR };
    case '8h':
      return { mode: 'until', untilMs: now + 8 * HOUR };
    case 'morning':
      return { mode: 'until', untilMs: tomorrowMorning(now) };
    case 'current':
      return current;
  }
}

/**
 * Settings: theme, desktop notifications (with or without the message text), alert sounds with
 * their volume and a test button, do-not-disturb, and what closing the window does. Every change applies at once (saved by the
 * app in its data folder); a refused one is undone and explained. A `Dialog`: focus stays inside
 * (Tab cycles), Esc, × or "Done" closes it and gives the focus back.
 */
export function SettingsDialog({ theme, onTheme, onClose, now = Date.now }: Props) {
  const [prefs, setPrefs] = useState<Preferences | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [soundError, setSoundError] = useState<string | null>(null);
  const [testing, setTesting] = useState<Sound | null>(null);
  const id = useId();

  useEffect(() => {
    api.preferences().then(setPrefs, (e) => setError(toCommandError(e).message));
  }, []);

  async function change(next: Preferences) {
    if (!prefs) return;
    const previous = prefs;
    setPrefs(next);
    setError(null);
    try {
      setPrefs(await api.setPreferences(next));
    } catch (e) {
      setPrefs(previous);
      setError(toCommandError(e).message);
    }
  }

  async function test(sound: Sound) {
    setTesting(sound);
    setSoundError(null);
    try {
      await api.testSound(sound);
    } catch (e) {
      const err = toCommandError(e);
      setSoundError(
        err.code === 'audio_unavailable'
          ? 'No sound device is available on this computer, so alerts stay silent.'
          : err.message,
      );
    } finally {
      setTesting(null);
    }
  }

  const dnd = prefs?.doNotDisturb;
  const dndChoice: DndChoice = !dnd ? 'off' : dnd.mode === 'until' ? 'current' : dnd.mode;
  const dndActive = !!dnd && (dnd.mode === 'on' || (dnd.mode === 'until' && dnd.untilMs > now()));

  return (
    <Dialog
      title="Settings"
      onClose={onClose}
      testId="settings-dialog"
      wide
      footer={
        <button type="button" className="primary small" data-testid="settings-done" onClick={onClose}>
          Done
        </button>
      }
    >
      <div className="settings">
        <section aria-labelledby={`${id}-look`}>
          <h3 id={`${id}-look`}>Appearance</h3>
          <div className="setting-row">
            <label htmlFor={`${id}-theme`}>Theme</label>
            <select
              id={`${id}-theme`}
              data-testid="settings-theme"
              value={theme}
              onChange={(e) => onTheme(e.target.value as Theme)}
            >
              <option value="system">Same as the system</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </div>
        </section>

        {error && (
          <div className="banner error" role="alert">
            {error}
          </div>
        )}

        {prefs === null ? (
          !error && <p className="muted">Loading…</p>
        ) : (
          <>
            <section aria-labelledby={`${id}-notify`}>
              <h3 id={`${id}-notify`}>Notifications</h3>
              <p className="muted hint">
                For direct messages, mentions and replies, when you are not looking.
              </p>
              <div className="setting-row">
                <input
                  type="checkbox"
                  id={`${id}-notifications`}
                  checked={prefs.notifications}
                  onChange={(e) => void change({ ...prefs, notifications: e.target.checked })}
                />
                <label htmlFor={`${id}-notifications`}>Desktop notifications</label>
              </div>
              <div className="setting-row">
                <input
                  type="checkbox"
                  id={`${id}-previews`}
                  checked={prefs.previews}
                  disabled={!prefs.notifications}
                  onChange={(e) => void change({ ...prefs, previews: e.target.checked })}
                />
                <label htmlFor={`${id}-previews`}>Show the message text in notifications</label>
              </div>
            </section>

            <section aria-labelledby={`${id}-sounds`}>
              <h3 id={`${id}-sounds`}>Sounds</h3>
              <div className="setting-row">
                <input
                  type="checkbox"
                  id={`${id}-sound-on`}
                  checked={prefs.sounds}
                  onChange={(e) => void change({ ...prefs, sounds: e.target.checked })}
                />
                <label htmlFor={`${id}-sound-on`}>Alert sounds</label>
              </div>
              <div className="setting-row">
                <label htmlFor={`${id}-volume`}>Volume</label>
                <input
                  type="range"
                  id={`${id}-volume`}
                  min={0}
                  max={100}
                  step={5}
                  value={prefs.volume}
                  aria-valuetext={`${prefs.volume}%`}
                  disabled={!prefs.sounds}
                  onChange={(e) => void change({ ...prefs, volume: Number(e.target.value) })}
                />
                <output htmlFor={`${id}-volume`} className="muted">
                  {prefs.volume}%
                </output>
              </div>
              <div className="setting-row">
                <button
                  type="button"
                  className="secondary small"
                  data-testid="test-sound"
                  disabled={testing !== null}
                  onClick={() => void test('message')}
                >
                  {testing === 'message' ? 'Playing…' : 'Test sound'}
                </button>
                <button
                  type="button"
                  className="secondary small"
                  disabled={testing !== null}
                  onClick={() => void test('mention')}
                >
                  {testing === 'mention' ? 'Playing…' : 'Test mention sound'}
                </button>
              </div>
              {soundError && (
                <p className="field-error" role="alert" data-testid="sound-error">
                  {soundError}
                </p>
              )}
            </section>

            <section aria-labelledby={`${id}-dnd`}>
              <h3 id={`${id}-dnd`}>Do not disturb</h3>
              <div className="setting-row">
                <label htmlFor={`${id}-dnd-select`}>Pause notifications and sounds</label>
                <select
                  id={`${id}-dnd-select`}
                  data-testid="dnd"
                  value={dndChoice}
                  onChange={(e) =>
                    void change({
                      ...prefs,
                      doNotDisturb: dndOf(e.target.value as DndChoice, now(), prefs.doNotDisturb),
                    })
                  }
                >
                  <option value="off">Off</option>
                  <option value="on">Until I turn it off</option>
                  <option value="1h">For 1 hour</option>
                  <option value="8h">For 8 hours</option>
                  <option value="morning">Until tomorrow, 08:00</option>
                  {dnd?.mode === 'until' && <option value="current">Until {clock(dnd.untilMs)}</option>}
                </select>
              </div>
              <p className="muted hint" aria-live="polite" data-testid="dnd-status">
                {dndActive
                  ? dnd?.mode === 'until'
                    ? `Paused until ${clock(dnd.untilMs)}.`
                    : 'Paused until you turn it off.'
                  : 'Notifications and sounds are on.'}
              </p>
            </section>

            <section aria-labelledby={`${id}-window`}>
              <h3 id={`${id}-window`}>Closing the window</h3>
              <div className="setting-row">
                <label htmlFor={`${id}-close`}>When the window is closed</label>
                <select
                  id={`${id}-close`}
                  data-testid="close-to-tray"
                  value={prefs.closeToTray}
                  onChange={(e) => void change({ ...prefs, closeToTray: e.target.value as CloseToTray })}
                >
                  <option value="while_hosting">Keep running in the tray while hosting for others</option>
                  <option value="always">Always keep running in the tray</option>
                  <option value="never">Quit</option>
                </select>
              </div>
              <p className="muted hint" data-testid="close-to-tray-hint">
                {prefs.closeToTray === 'never'
                  ? 'Closing the window quits Jeco Chat; you are asked first while others use the server it hosts.'
                  : prefs.closeToTray === 'always'
                    ? 'Jeco Chat stays in the tray, with its unread count; Quit is in the tray menu.'
                    : 'While this computer hosts the server for your team, Jeco Chat stays in the tray so their chat goes on; otherwise closing the window quits.'}
              </p>
            </section>
          </>
        )}
      </div>
    </Dialog>
  );
}
