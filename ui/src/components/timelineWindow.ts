// A conversation's timeline window as the engine keeps it (`jeco_client` `engine/window`): the
// view holds a copy and applies the engine's diffs to it, in order. It never merges pages,
// de-duplicates or trims: the engine did, and the diffs say what came of it.
import type { TimelineItem, WindowDiff } from '../api';

export interface WindowState {
  /** The items shown, oldest first (pending and refused sends at the end). */
  items: TimelineItem[];
  /** Older messages exist than the first item. */
  hasMore: boolean;
}

/**
 * `state` with `diffs` applied, in order. A new array whenever the items changed (React compares
 * by identity); unchanged items keep their identity, so their rows do not re-render.
 */
export function applyWindowDiffs(state: WindowState, diffs: WindowDiff[]): WindowState {
  let items = state.items;
  let hasMore = state.hasMore;
  let copied = false;
  const edit = () => {
    if (!copied) {
      items = [...items];
      copied = true;
    }
    return items;
  };
  for (const d of diffs) {
    switch (d.op) {
      case 'reset':
        items = [...d.items];
        copied = true;
        hasMore = d.has_more_before;
        break;
      case 'push_front':
        edit().unshift(...d.items);
        break;
      case 'push_back':
        edit().push(d.item);
        break;
      case 'insert':
        edit().splice(d.index, 0, d.item);
        break;
      case 'set':
        edit()[d.index] = d.item;
        break;
      case 'remove':
        edit().splice(d.index, 1);
        break;
      case 'remove_front':
        edit().splice(0, d.count);
        break;
      case 'has_more_before':
        hasMore = d.has_more_before;
        break;
    }
  }
  return items === state.items && hasMore === state.hasMore ? state : { items, hasMore };
}
