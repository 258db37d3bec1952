// Dates and times for people, in their locale, through formatters made once and reused.
//
// Why not `date.toLocaleTimeString([], options)`: in the web view every such call builds a new
// ICU date formatter (hundreds of KB of native memory that JavaScript's garbage collector does not
// count, so it is freed late), and a timeline formats a time or a day for every row it renders.
// Measured with heaptrack in the app's web process under traffic: 173,000 ICU allocations and
// 83 MB of its heap in under a minute (BENCHMARKS.md, "Desktop memory"). One formatter per format
// costs that once.

function lazy(options: Intl.DateTimeFormatOptions): () => Intl.DateTimeFormat {
  let made: Intl.DateTimeFormat | undefined;
  return () => (made ??= new Intl.DateTimeFormat(undefined, options));
}

const FORMATS = {
  /** 14:05 */
  time: lazy({ hour: '2-digit', minute: '2-digit' }),
  /** Monday, November 23 */
  weekdayDay: lazy({ weekday: 'long', month: 'long', day: 'numeric' }),
  /** Nov 23 */
  shortDay: lazy({ month: 'short', day: 'numeric' }),
  /** Nov 23, 2026 */
  mediumDay: lazy({ dateStyle: 'medium' }),
  /** Nov 23, 2026, 2:05 PM */
  mediumMoment: lazy({ dateStyle: 'medium', timeStyle: 'short' }),
  /** Mon 14:05 */
  weekdayTime: lazy({ weekday: 'short', hour: '2-digit', minute: '2-digit' }),
  /** 11/23/2026, 2:05:00 PM (what `toLocaleString()` shows) */
  full: lazy({
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }),
};

export type DateFormat = keyof typeof FORMATS;

/** `when` (a Date, epoch milliseconds or an ISO string) in the format; '' when it is not a date. */
export function formatDate(when: Date | number | string, format: DateFormat): string {
  const d = when instanceof Date ? when : new Date(when);
  return Number.isNaN(d.getTime()) ? '' : FORMATS[format]().format(d);
}

/** The time today, else the short day: how lists of recent things say when. */
export function formatRecent(iso: string): string {
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? formatDate(d, 'time') : formatDate(d, 'shortDay');
}
