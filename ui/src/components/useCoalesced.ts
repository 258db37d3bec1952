import { useCallback, useRef } from 'react';

/**
 * `run`, with calls that arrive while a run is going folded into one more run after it. Each
 * caller's promise settles once a run that began after its call has finished, so "re-read, then
 * open" still sees what it asked for; a burst of twenty calls costs two runs, not twenty.
 */
export function useCoalesced(run: () => Promise<void>): () => Promise<void> {
  const latest = useRef(run);
  latest.current = run;
  const state = useRef<{ running: Promise<void> | null; next: Promise<void> | null }>({
    running: null,
    next: null,
  });
  return useCallback(() => {
    const s = state.current;
    const start = () => {
      const running = latest.current().finally(() => {
        if (s.running === running) s.running = null;
      });
      s.running = running;
      return running;
    };
    if (!s.running) return start();
    if (!s.next) {
      s.next = s.running.then(() => {
        s.next = null;
        return start();
      });
    }
    return s.next;
  }, []);
}
