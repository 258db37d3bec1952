import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ThreadEntry, toCommandError } from '../../api';

/** How long changes are gathered before the list is read again: a burst of messages costs one
 *  request. */
export const THREADS_REFRESH_PAUSE_MS = 400;

export interface Threads {
  /** `null` until first read. */
  threads: ThreadEntry[] | null;
  /** Why the last read failed (the list keeps what it last had). */
  error: string | null;
  /** Unread replies over all threads, for the sidebar's badge. */
  unread: number;
  /** The link is down: the list is the one last seen (the engine remembers it). */
  offline: boolean;
}

/**
 * The Threads view's list, kept current: read at once, again when the link comes up or goes
 * down, and (after a pause) each time `version` changes — the chat view bumps it when messages
 * arrive anywhere and when a thread was shown (its replies became read). Online the engine asks
 * the server (only it knows every thread); offline it answers with the list as last seen, its
 * reply counts kept current by what the cache received.
 */
export function useThreads(version: number, live: boolean, onUsers: (ids: number[]) => void): Threads {
  const [threads, setThreads] = useState<ThreadEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loaded = useRef(false);
  const onUsersRef = useRef(onUsers);
  onUsersRef.current = onUsers;

  const load = useCallback(async () => {
    try {
      const list = await api.threads();
      loaded.current = true;
      setThreads(list);
      setError(null);
      onUsersRef.current(list.flatMap((t) => [t.root.sender_id, ...t.root.last_repliers]));
    } catch (e) {
      const err = toCommandError(e);
      setError(
        err.code === 'server_unreachable'
          ? 'The list of threads needs the server, which is not reachable now.'
          : err.message,
      );
      setThreads((prev) => prev ?? []);
    }
  }, []);

  useEffect(() => {
    const timer = setTimeout(() => void load(), loaded.current ? THREADS_REFRESH_PAUSE_MS : 0);
    return () => clearTimeout(timer);
  }, [load, version, live]);

  const unread = threads?.reduce((sum, t) => sum + t.unread, 0) ?? 0;
  return { threads, error, unread, offline: !live };
}
