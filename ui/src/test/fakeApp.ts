// A scripted stand-in for the Rust side of the app, installed with Tauri's mockIPC. Each test
// sets the answers it needs; every call is recorded so tests can check what the UI asked for.
import { mockIPC } from '@tauri-apps/api/mocks';
import { emit, listen } from '@tauri-apps/api/event';
import type {
  AppStatus,
  CommandError,
  EngineEvent,
  Message,
  Timeline,
  TimelineItem,
  User,
  WindowDiff,
} from '../api';
import { LIMITS as PROTOCOL_LIMITS } from '../bindings/limitValues';

export const EMBEDDED = 'http://127.0.0.1:41234';

export function status(overrides: Partial<AppStatus> = {}): AppStatus {
  return {
    appVersion: '0.1.0',
    mode: 'embedded',
    serverAddress: EMBEDDED,
    embedded: {
      state: 'running',
      address: EMBEDDED,
      dataDir: '/data/server',
      error: null,
      hosting: false,
      lanAddresses: [],
    },
    connection: { state: 'live' },
    signedInBefore: true,
    ...overrides,
  };
}

export function user(overrides: Partial<User> = {}): User {
  return {
    id: 1,
    username: 'ada',
    display_name: 'Ada Lovelace',
    bio: null,
    status_text: null,
    is_admin: false,
    deactivated: false,
    created_at: '2025-01-01T00:00:00Z',
    ...overrides,
  };
}

/**
 * A timeline item as the engine sends it: confirmed (`id.kind` `sent`, with the message's id and
 * seq), or — for a fixture message with seq 0, as the engine's echo of a send has — still being
 * sent (`local`, by its client id).
 */
export function timelineItem(
  message: Message,
  state: TimelineItem['state'] = { state: 'synced' },
): TimelineItem {
  const id: TimelineItem['id'] =
    message.seq > 0
      ? { kind: 'sent', id: message.id, seq: message.seq }
      : { kind: 'local', client_id: message.client_id };
  return { id, message, state };
}

export type Handler = (args: Record<string, unknown>) => unknown;

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

/** Which fake is installed: listeners of an earlier test's fake stay quiet. */
let generation = 0;

/**
 * The engine's timeline windows (`jeco_client` `engine/window`), played on top of a test's
 * `timeline` handler (its pages): opening reads the newest page, older pages and jumps read back
 * from the first item, and a `timeline_changed` / `outbox` / `outbox_removed` event re-reads the
 * newest page and keeps what was loaded before it — the window as the engine would have it, sent
 * whole (`reset`) or as the front pages (`push_front`). Trimming while following is the engine's
 * and tested there (client/tests/engine/window.rs).
 */
function fakeWindows(timeline: Handler | undefined, mine: number) {
  const windows = new Map<number, { items: TimelineItem[]; hasMore: boolean }>();
  const read = async (conversationId: number, before: number | null, limit: number) =>
    (await timeline?.({ conversationId, before, limit })) as Timeline;
  const send = (conversationId: number, diffs: WindowDiff[]) =>
    emit('engine-event', { type: 'window', conversation_id: conversationId, diffs });
  const first = (items: TimelineItem[]) => items.find((i) => i.id.kind === 'sent')?.message.seq ?? null;
  const refresh = async (id: number) => {
    const w = windows.get(id);
    if (!w) return;
    const page = await read(id, null, 50);
    const firstNew = first(page.items) ?? Infinity;
    const older = w.items.filter((i) => i.id.kind === 'sent' && i.id.seq < firstNew);
    const next = {
      items: [...older, ...page.items],
      hasMore: older.length > 0 ? w.hasMore : page.has_more_before,
    };
    windows.set(id, next);
    await send(id, [{ op: 'reset', items: next.items, has_more_before: next.hasMore }]);
  };
  /** Pages back (at most `pages` of `limit`) until `done`; sends what was added in front. */
  const back = async (id: number, limit: number, pages: number, done: (w: TimelineItem[]) => boolean) => {
    const w = windows.get(id);
    if (!w) throw { code: 'not_found', message: 'no such conversation in the cache' };
    const added: TimelineItem[] = [];
    const hadMore = w.hasMore;
    for (let n = 0; n < pages && w.hasMore && !done(w.items); n++) {
      const start = first(w.items);
      if (start === null) break;
      const page = await read(id, start, limit);
      const older = page.items.filter((i) => i.id.kind === 'sent' && i.id.seq < start);
      w.items = [...older, ...w.items];
      w.hasMore = page.has_more_before;
      added.unshift(...older);
      if (older.length === 0) break;
    }
    const diffs: WindowDiff[] = [];
    if (added.length > 0) diffs.push({ op: 'push_front', items: added });
    if (w.hasMore !== hadMore) diffs.push({ op: 'has_more_before', has_more_before: w.hasMore });
    if (diffs.length > 0) await send(id, diffs);
    return w;
  };
  /** Follows the engine events (once the IPC fake is installed), as the engine's window task does. */
  const follow = () =>
    void listen<EngineEvent>('engine-event', (e) => {
      if (generation !== mine) return;
      const event = e.payload;
      if (event.type === 'timeline_changed' || event.type === 'outbox_removed' || event.type === 'outbox')
        void refresh(event.conversation_id);
    });
  const id = (args: Record<string, unknown>) => args.conversationId as number;
  const commands: Record<string, Handler> = {
    open_window: async (args: Record<string, unknown>) => {
      const page = await read(id(args), null, 50);
      windows.set(id(args), { items: page.items, hasMore: page.has_more_before });
      await send(id(args), [{ op: 'reset', items: page.items, has_more_before: page.has_more_before }]);
      return page;
    },
    close_window: (args: Record<string, unknown>) => {
      windows.delete(id(args));
      return null;
    },
    window_load_older: async (args: Record<string, unknown>) =>
      (await back(id(args), 50, 1, () => false)).hasMore,
    window_jump: async (args: Record<string, unknown>) => {
      const has = (items: TimelineItem[]) =>
        items.find((i) => i.id.kind === 'sent' && i.id.id === args.messageId);
      const w = await back(id(args), 200, 50, (items) => has(items) !== undefined);
      return has(w.items)?.message.seq ?? null;
    },
    window_reach: async (args: Record<string, unknown>) => {
      const reached = (items: TimelineItem[]) => (first(items) ?? Infinity) <= (args.seq as number);
      const w = await back(id(args), 200, 50, reached);
      return reached(w.items) || !w.hasMore;
    },
    window_newest: () => null,
    window_following: () => null,
  };
  return { commands, follow };
}

/** Installs the fake. Unlisted commands fail loudly, like a missing handler in Rust would. */
export function fakeApp(handlers: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  const mine = ++generation;
  const windows = fakeWindows(handlers.timeline, mine);
  const defaults: Record<string, Handler> = {
    app_status: () => status(),
    current_user: () => null,
    limits: () => PROTOCOL_LIMITS,
    conversations: () => [],
    last_opened: () => null,
    teams: () => [],
    inbox: () => [],
    connection_state: () => ({ state: 'live' }),
    users: () => [],
    draft: () => null,
    set_draft: () => null,
    typing: () => null,
    set_viewing: () => null,
    threads: () => [],
    ...windows.commands,
  };
  mockIPC(
    async (cmd, payload) => {
      const args = (payload ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      const handler = handlers[cmd] ?? defaults[cmd];
      if (!handler) throw { code: 'internal', message: `unexpected command ${cmd}` };
      return handler(args);
    },
    { shouldMockEvents: true },
  );
  windows.follow();
  return calls;
}

/** A command failure as src-tauri sends it. */
export function fail(error: CommandError): never {
  throw error;
}
