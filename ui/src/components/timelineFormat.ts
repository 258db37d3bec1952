// Small pure helpers the timeline's components share: message keys and refs, times and days.
import type { MessageRef, TimelineItem } from '../api';
import { formatDate } from '../dates';

/** How a command names a message: by server id, or by client id while it is being sent. */
export function refOf(item: TimelineItem): MessageRef {
  return item.id.kind === 'sent' ? { id: item.id.id } : { pending: item.id.client_id };
}

/** A stable React key (a pending message keeps its client id until the server confirms it). */
export function keyOf(item: TimelineItem): string {
  return item.id.kind === 'sent' ? `m${item.id.id}` : `c${item.id.client_id}`;
}

/** The message's place in its conversation, or null while it is still being sent from here. */
export function seqOf(item: TimelineItem): number | null {
  return item.id.kind === 'sent' ? item.id.seq : null;
}

/** The message's server id, or null while it is still being sent from here. */
export function sentIdOf(item: TimelineItem): number | null {
  return item.id.kind === 'sent' ? item.id.id : null;
}

export function time(iso: string): string {
  return formatDate(iso, 'time');
}

export function day(iso: string): string {
  return formatDate(iso, 'weekdayDay');
}
