// The UI's only door to the app: typed wrappers over the Tauri commands of src-tauri
// (src-tauri/src/commands.rs). The UI holds no tokens and no business logic; it shows what these
// return and switches on `CommandError.code`, never on message text.
import { invoke } from '@tauri-apps/api/core';

// The types are generated from the Rust ones (src-tauri/src/bindings.rs → ./bindings); `./dev test`
// fails when they are stale. Never describe here by hand what Rust sends.
import type { AppStatus } from './bindings/AppStatus';
import type { CommandError } from './bindings/CommandError';
import type { Conversation } from './bindings/Conversation';
import type { Draft } from './bindings/Draft';
import type { EngineEvent } from './bindings/EngineEvent';
import type { MessageRef } from './bindings/MessageRef';
import type { OutboxItem } from './bindings/OutboxItem';
import type { SearchResult } from './bindings/SearchResult';
import type { Team } from './bindings/Team';
import type { Timeline } from './bindings/Timeline';
import type { User } from './bindings/User';
import type { ConnectionState } from './bindings/ConnectionState';
import type { Preferences } from './bindings/Preferences';
import type { OpenMessage } from './bindings/OpenMessage';
import type { Sound } from './bindings/Sound';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';

export type {
  AppStatus,
  CommandError,
  ConnectionState,
  Conversation,
  Draft,
  EngineEvent,
  MessageRef,
  OpenMessage,
  OutboxItem,
  Preferences,
  Sound,
  SearchResult,
  Team,
  Timeline,
  User,
};
export type { TimelineItem } from './bindings/TimelineItem';
export type { Message } from './bindings/Message';
export type { Attachment } from './bindings/Attachment';
export type { DoNotDisturb } from './bindings/DoNotDisturb';
import type { Attachment } from './bindings/Attachment';

export function isCommandError(value: unknown): value is CommandError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as CommandError).code === 'string' &&
    typeof (value as CommandError).message === 'string'
  );
}

/** Anything thrown by invoke (or by the IPC layer itself) as a CommandError. */
export function toCommandError(value: unknown): CommandError {
  if (isCommandError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return { code: 'internal', message };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toCommandError(error);
  }
}

export const api = {
  appStatus: () => call<AppStatus>('app_status'),
  setServerAddress: (address: string | null) => call<AppStatus>('set_server_address', { address }),
  register: (username: string, password: string, displayName: string | null) =>
    call<User>('register', { username, password, displayName }),
  login: (username: string, password: string) => call<User>('login', { username, password }),
  logout: () => call<null>('logout'),
  currentUser: () => call<User | null>('current_user'),
  conversations: () => call<Conversation[]>('conversations'),
  timeline: (conversationId: number, before: number | null = null, limit = 50) =>
    call<Timeline>('timeline', { conversationId, before, limit }),
  sendMessage: (conversationId: number, text: string, replyTo: number | null = null) =>
    call<OutboxItem>('send_message', { conversationId, text, replyTo }),
  editMessage: (conversationId: number, target: MessageRef, text: string) =>
    call<null>('edit_message', { conversationId, target, text }),
  deleteMessage: (conversationId: number, target: MessageRef) =>
    call<null>('delete_message', { conversationId, target }),
  react: (conversationId: number, target: MessageRef, emoji: string, add: boolean) =>
    call<null>('react', { conversationId, target, emoji, add }),
  markRead: (conversationId: number, seq: number) => call<null>('mark_read', { conversationId, seq }),
  retryOutbox: (id: number) => call<boolean>('retry_outbox', { id }),
  discardOutbox: (id: number) => call<null>('discard_outbox', { id }),
  search: (query: string, conversationId: number | null = null) =>
    call<SearchResult[]>('search', { query, conversationId }),
  openDirect: (username: string) => call<Conversation>('open_direct', { username }),
  joinInvite: (code: string) => call<Team>('join_invite', { code }),
  users: (ids: number[]) => call<User[]>('users', { ids }),
  setDraft: (conversationId: number, text: string) => call<null>('set_draft', { conversationId, text }),
  draft: (conversationId: number) => call<Draft | null>('draft', { conversationId }),
  typing: (conversationId: number, active: boolean) => call<null>('typing', { conversationId, active }),
  connectionState: () => call<ConnectionState>('connection_state'),
  reconnectNow: () => call<null>('reconnect_now'),
  attachmentDataUrl: (attachment: Attachment, thumbnail: boolean) =>
    call<string>('attachment_data_url', { attachment, thumbnail }),
  saveAttachment: (attachment: Attachment) => call<string>('save_attachment', { attachment }),
  sendWithFiles: (conversationId: number, text: string, files: { name: string; data_base64: string }[]) =>
    call<OutboxItem>('send_with_files', { conversationId, text, files }),
  // Alerts and preferences (src-tauri/src/commands/prefs.rs, alerts.rs).
  preferences: () => call<Preferences>('preferences'),
  setPreferences: (preferences: Preferences) => call<Preferences>('set_preferences', { preferences }),
  setConversationMuted: (conversationId: number, muted: boolean) =>
    call<Conversation>('set_conversation_muted', { conversationId, muted }),
  setViewing: (conversationId: number | null) => call<null>('set_viewing', { conversationId }),
  testSound: (sound: Sound) => call<null>('test_sound', { sound }),
};

/** A clicked desktop notification: open this conversation at this message. */
export function onOpenMessage(handler: (target: OpenMessage) => void): Promise<UnlistenFn> {
  return listen<OpenMessage>('open-message', (e) => handler(e.payload));
}

/** Engine events (src-tauri forwards them as `engine-event`): what changed, to re-read. */
export function onEngineEvent(handler: (event: EngineEvent) => void): Promise<UnlistenFn> {
  return listen<EngineEvent>('engine-event', (e) => handler(e.payload));
}
