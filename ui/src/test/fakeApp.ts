// A scripted stand-in for the Rust side of the app, installed with Tauri's mockIPC. Each test
// sets the answers it needs; every call is recorded so tests can check what the UI asked for.
import { mockIPC } from '@tauri-apps/api/mocks';
import type { AppStatus, CommandError, Message, TimelineItem, User } from '../api';

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

/** Installs the fake. Unlisted commands fail loudly, like a missing handler in Rust would. */
export function fakeApp(handlers: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  const defaults: Record<string, Handler> = {
    app_status: () => status(),
    current_user: () => null,
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
  return calls;
}

/** A command failure as src-tauri sends it. */
export function fail(error: CommandError): never {
  throw error;
}
