import { describe, expect, it } from 'vitest';
import type { Message, TimelineItem, WindowDiff } from '../api';
import { timelineItem } from '../test/fakeApp';
import { applyWindowDiffs, WindowState } from './timelineWindow';

function message(seq: number, text = `m${seq}`, client = `c${seq}`): Message {
  return {
    id: seq === 0 ? 0 : 100 + seq,
    conversation_id: 7,
    seq,
    sender_id: 2,
    client_id: client,
    text,
    reply_to: null,
    thread_only: false,
    reply_count: 0,
    edited_at: null,
    deleted: false,
    reactions: [],
    attachments: [],
    pinned: false,
    created_at: '2026-11-23T10:00:00Z',
  } as unknown as Message;
}

const sent = (seq: number, text?: string): TimelineItem => timelineItem(message(seq, text));
const local = (client: string): TimelineItem =>
  timelineItem(message(0, 'pending', client), { state: 'pending' });
const texts = (s: WindowState) => s.items.map((i) => i.message.text);

describe('applying the engine’s window diffs', () => {
  it('applies every kind of diff in order', () => {
    const diffs: WindowDiff[] = [
      { op: 'reset', items: [sent(3), sent(4)], has_more_before: true },
      { op: 'push_back', item: local('x') },
      { op: 'push_front', items: [sent(1), sent(2)] },
      { op: 'insert', index: 4, item: sent(5) },
      { op: 'set', index: 5, item: sent(6, 'pending') },
      { op: 'set', index: 0, item: sent(1, 'edited') },
      { op: 'remove', index: 1 },
      { op: 'remove_front', count: 1 },
      { op: 'has_more_before', has_more_before: false },
    ];
    const state = applyWindowDiffs({ items: [], hasMore: false }, diffs);
    expect(texts(state)).toEqual(['m3', 'm4', 'm5', 'pending']);
    expect(state.items[3].id).toEqual({ kind: 'sent', id: 106, seq: 6 });
    expect(state.hasMore).toBe(false);
  });

  it('confirms a pending send in place, keeping every other item as it was', () => {
    const before = applyWindowDiffs({ items: [], hasMore: false }, [
      { op: 'reset', items: [sent(1), local('x')], has_more_before: false },
    ]);
    const after = applyWindowDiffs(before, [{ op: 'set', index: 1, item: sent(2, 'pending') }]);
    expect(after.items).toHaveLength(2);
    expect(after.items[0]).toBe(before.items[0]);
    expect(after.items[1].id.kind).toBe('sent');
    expect(before.items[1].id.kind).toBe('local');
  });

  it('leaves the state as it was when nothing changed', () => {
    const state: WindowState = { items: [sent(1)], hasMore: true };
    expect(applyWindowDiffs(state, [])).toBe(state);
    expect(applyWindowDiffs(state, [{ op: 'has_more_before', has_more_before: true }])).toBe(state);
  });

  it('gives the same items as a fresh read after random changes', () => {
    // A model of the engine's window: random operations, each told as the diffs the engine sends.
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let run = 0; run < 50; run++) {
      let truth: TimelineItem[] = [];
      let view: WindowState = { items: [], hasMore: false };
      let next = 1;
      for (let step = 0; step < 40; step++) {
        let diff: WindowDiff;
        const kind = random(5);
        if (kind === 0 || truth.length === 0) {
          truth = [...truth, sent(next)];
          diff = { op: 'push_back', item: sent(next++) };
        } else if (kind === 1) {
          const index = random(truth.length);
          const item = sent(seqOfItem(truth[index]), `edited ${step}`);
          truth = truth.map((t, i) => (i === index ? item : t));
          diff = { op: 'set', index, item };
        } else if (kind === 2) {
          const index = random(truth.length);
          truth = truth.filter((_, i) => i !== index);
          diff = { op: 'remove', index };
        } else if (kind === 3) {
          const count = random(truth.length + 1);
          truth = truth.slice(count);
          diff = { op: 'remove_front', count };
        } else {
          const index = random(truth.length + 1);
          const item = sent(1000 + step);
          truth = [...truth.slice(0, index), item, ...truth.slice(index)];
          diff = { op: 'insert', index, item };
        }
        view = applyWindowDiffs(view, [diff]);
        expect(view.items).toEqual(truth);
      }
    }
  });
});

function seqOfItem(item: TimelineItem): number {
  return item.id.kind === 'sent' ? item.id.seq : 0;
}
