// Small pure helpers the timeline's components share: message keys and refs, times and days.
import type { MessageRef, TimelineItem } from '../api';
import { formatDate } from '../dates';

/** How a command names a message: by server id, or by client id while it is being sent. */
export function refOf(item: TimelineItem): MessageRef {
  return item.message.id === 0 ? { pending: item.message.client_id } : { id: item.message.id };
}

/** A stable React key (a pending message keeps its client id until the server confirms it). */
export function keyOf(item: TimelineItem): string {
  return item.message.id === 0 ? `c${item.message.client_id}` : `m${item.message.id}`;
}

export function time(iso: string): string {
  return formatDate(iso, 'time');
}

export function day(iso: string): string {
  return formatDate(iso, 'weekdayDay');
}
