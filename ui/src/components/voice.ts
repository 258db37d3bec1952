// Small helpers shared by the voice recorder and player.

/** `m:ss` (and `h:mm:ss` past an hour) for a length in milliseconds. */
export function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Folds waveform peaks (0–255) into `bars` bars, each the loudest of its stretch, as 0–1. */
export function bars(peaks: number[] | null | undefined, count: number): number[] {
  if (!peaks || peaks.length === 0) return Array.from({ length: count }, () => 0.15);
  const n = Math.min(count, peaks.length);
  return Array.from({ length: n }, (_, b) => {
    const start = Math.floor((b * peaks.length) / n);
    const end = Math.max(start + 1, Math.floor(((b + 1) * peaks.length) / n));
    return Math.max(...peaks.slice(start, end)) / 255;
  });
}
