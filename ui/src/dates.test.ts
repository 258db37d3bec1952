import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('dates', () => {
  it('formats like toLocale*String, with one formatter per format however many dates', async () => {
    vi.resetModules();
    const made = vi.spyOn(Intl, 'DateTimeFormat');
    const perCall = [
      vi.spyOn(Date.prototype, 'toLocaleTimeString'),
      vi.spyOn(Date.prototype, 'toLocaleDateString'),
      vi.spyOn(Date.prototype, 'toLocaleString'),
    ];
    const { formatDate, formatRecent } = await import('./dates');
    const { time, day } = await import('./components/timelineFormat');
    const at = new Date(2026, 10, 23, 14, 5);
    for (let i = 0; i < 500; i++) {
      time(at.toISOString());
      day(at.toISOString());
      formatRecent(at.toISOString());
    }
    // time, weekdayDay and shortDay (or time again): three formatters at most, not 1,500.
    expect(made.mock.calls.length).toBeLessThanOrEqual(3);
    for (const spy of perCall) expect(spy).not.toHaveBeenCalled();
    vi.restoreAllMocks();
    expect(time(at.toISOString())).toBe(at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    expect(day(at.toISOString())).toBe(
      at.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' }),
    );
    expect(formatDate(at, 'full')).toBe(at.toLocaleString());
    expect(formatDate('not a date', 'time')).toBe('');
  });
});
