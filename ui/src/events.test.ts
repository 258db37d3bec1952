import { describe, expect, it } from 'vitest';
import { mockIPC } from '@tauri-apps/api/mocks';
import { onEngineEvent } from './api';
import type { EngineEvent } from './api';
import { sharedListener } from './events';

/**
 * Tauri's event plugin as the web view sees it (tauri 2.12): `listen` files the listener in a
 * window-wide table that `unlisten` never shrinks (it only stops delivering to it). `table` counts
 * what was filed per event; `emit` delivers to the listeners not unlistened.
 */
function fakeEvents() {
  const table = new Map<string, number>();
  const active = new Map<number, { event: string; handler: number }>();
  let nextId = 1;
  mockIPC((cmd, payload) => {
    const args = (payload ?? {}) as Record<string, unknown>;
    if (cmd === 'plugin:event|listen') {
      const event = args.event as string;
      table.set(event, (table.get(event) ?? 0) + 1);
      const id = nextId++;
      active.set(id, { event, handler: args.handler as number });
      return id;
    }
    if (cmd === 'plugin:event|unlisten') {
      active.delete(args.eventId as number);
      return null;
    }
    throw new Error(`unexpected command ${cmd}`);
  });
  const internals = (
    window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } }
  ).__TAURI_INTERNALS__;
  const emit = (event: string, payload: unknown) => {
    for (const [id, l] of active)
      if (l.event === event) internals.runCallback(l.handler, { event, id, payload });
  };
  return { table, active, emit };
}

const changed = (conversation: number): EngineEvent =>
  ({ type: 'timeline_changed', conversation_id: conversation, seqs: [] }) as unknown as EngineEvent;

describe('engine events', () => {
  it('leave nothing behind in the web view when a pane comes and goes', async () => {
    const tauri = fakeEvents();
    // The chat view listens for as long as it is signed in...
    const heardByView: EngineEvent[] = [];
    const stopView = await onEngineEvent((e) => heardByView.push(e));
    // ...and each conversation pane while it is open: a switch closes one and opens the next.
    let heardByPanes = 0;
    for (let pane = 0; pane < 20; pane++) {
      const stop = await onEngineEvent(() => heardByPanes++);
      tauri.emit('engine-event', changed(pane));
      stop();
    }
    expect(tauri.table.get('engine-event')).toBe(1);
    expect(heardByPanes).toBe(20);
    expect(heardByView).toHaveLength(20);
    stopView();
    await Promise.resolve();
    await new Promise((r) => setTimeout(r, 0));
    expect(tauri.active.size).toBe(0);
  });
});

describe('sharedListener', () => {
  it('delivers to each subscriber once, and listens again after the last one left', async () => {
    const tauri = fakeEvents();
    const subscribe = sharedListener<number>('tick');
    const a: number[] = [];
    const b: number[] = [];
    const stopA = await subscribe((n) => a.push(n));
    const stopB = await subscribe((n) => b.push(n));
    tauri.emit('tick', 1);
    stopA();
    tauri.emit('tick', 2);
    expect(a).toEqual([1]);
    expect(b).toEqual([1, 2]);
    // The last one leaves: the Tauri listener is released; a newcomer registers a new one and
    // hears each event once, even while the old registration is still being released.
    stopB();
    const c: number[] = [];
    const stopC = await subscribe((n) => c.push(n));
    tauri.emit('tick', 3);
    await new Promise((r) => setTimeout(r, 0));
    tauri.emit('tick', 4);
    expect(c).toEqual([3, 4]);
    expect(b).toEqual([1, 2]);
    expect(tauri.table.get('tick')).toBe(2);
    expect(tauri.active.size).toBe(1);
    stopC();
    stopC();
  });

  it('fails a subscription whose listener could not be registered, and tries again next time', async () => {
    let attempts = 0;
    const subscribe = sharedListener<number>('tick', async () => {
      attempts++;
      if (attempts === 1) throw new Error('no app');
      return () => undefined;
    });
    await expect(subscribe(() => undefined)).rejects.toThrow('no app');
    const stop = await subscribe(() => undefined);
    expect(attempts).toBe(2);
    stop();
  });
});
