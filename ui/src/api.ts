// The UI's only door to the app: typed wrappers over the Tauri commands of src-tauri
// (src-tauri/src/commands.rs). The UI holds no tokens and no business logic; it shows what these
// return and switches on `CommandError.code`, never on message text.
import { invoke } from '@tauri-apps/api/core';
import { measuringStartup, startupStep } from './startup';

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
import type { VoiceEvent } from './bindings/VoiceEvent';
import type { Preferences } from './bindings/Preferences';
import type { OpenMessage } from './bindings/OpenMessage';
import type { Sound } from './bindings/Sound';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { sharedListener } from './events';

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
  VoiceEvent,
};
export type { TimelineItem } from './bindings/TimelineItem';
export type { WindowDiff } from './bindings/WindowDiff';
export type { Message } from './bindings/Message';
export type { Attachment } from './bindings/Attachment';
export type { DoNotDisturb } from './bindings/DoNotDisturb';
import type { Attachment } from './bindings/Attachment';
import type { TeamMember } from './bindings/TeamMember';
import type { ContactsView } from './bindings/ContactsView';
import type { Invite } from './bindings/Invite';
import type { Channel } from './bindings/Channel';
import type { MemberRole } from './bindings/MemberRole';
import type { UpdateProfileRequest } from './bindings/UpdateProfileRequest';
export type { TeamMember, ContactsView, Invite, Channel, MemberRole, UpdateProfileRequest };
export type { ContactRequestView } from './bindings/ContactRequestView';
export type { InboxItem } from './bindings/InboxItem';
export type { PresenceStatus } from './bindings/PresenceStatus';
import type { InboxItem } from './bindings/InboxItem';
export type { Contact } from './bindings/Contact';
import type { Message } from './bindings/Message';
import type { Thread } from './bindings/Thread';
import type { ThreadEntry } from './bindings/ThreadEntry';
import type { ReadReceipt } from './bindings/ReadReceipt';
export type { Thread, ThreadEntry, ReadReceipt };
import type { QuitRequest } from './bindings/QuitRequest';
export type { QuitRequest };
export type { CloseToTray } from './bindings/CloseToTray';
import type { EmailStatus } from './bindings/EmailStatus';
import type { SessionInfo } from './bindings/SessionInfo';
export type { EmailStatus, SessionInfo };
import type { AdminUser } from './bindings/AdminUser';
import type { AdminUserPage } from './bindings/AdminUserPage';
import type { AdminPasswordReset } from './bindings/AdminPasswordReset';
import type { MediaUsageReport } from './bindings/MediaUsageReport';
export type { AdminUser, AdminUserPage, AdminPasswordReset, MediaUsageReport };
import type { SignInView } from './bindings/SignInView';
import type { EnrollmentView } from './bindings/EnrollmentView';
import type { TwoFactorSignedIn } from './bindings/TwoFactorSignedIn';
import type { TwoFactorStatus } from './bindings/TwoFactorStatus';
export type { SignInView, EnrollmentView, TwoFactorSignedIn, TwoFactorStatus };
import { LIMITS as PROTOCOL_LIMITS } from './bindings/limitValues';
import type { Limits } from './bindings/Limits';
export type { Limits };

/**
 * The limits of the server signed in to. Until [`loadLimits`] has read them from the engine they
 * are the protocol's, generated from `jeco_shared::limits::LIMITS` (never copied by hand: the
 * bindings test fails when that module and the Rust value differ). One shared object whose fields
 * [`loadLimits`] replaces, so a view that reads it while rendering shows the server's values.
 */
export const LIMITS: Limits = { ...PROTOCOL_LIMITS };

/** Reads the limits the server last said (in its `ready` frame, kept by the engine) into [`LIMITS`]. */
export async function loadLimits(): Promise<Limits> {
  Object.assign(LIMITS, await api.limits());
  return LIMITS;
}

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
  if (measuringStartup()) startupStep(`${command} asked`);
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toCommandError(error);
  } finally {
    if (measuringStartup()) startupStep(`${command} answered`);
  }
}

/**
 * What the signed-in window first shows, read from the engine's cache in one go before it is
 * drawn: the conversation list, the conversation open last time and its newest page. The window
 * then paints the timeline in its first frame instead of after three rounds of asking (list,
 * then conversation, then page), each followed by a render.
 */
export interface FirstScreen {
  conversations: Conversation[];
  selected: number | null;
  page: Timeline | null;
}

/** Reads [`FirstScreen`]; `null` when there is nothing to read (signed out, no engine). */
export async function firstScreen(pageSize: number): Promise<FirstScreen | null> {
  try {
    const [conversations, lastOpened] = await Promise.all([api.conversations(), api.lastOpened()]);
    const selected = conversations.some((c) => c.id === lastOpened) ? lastOpened : null;
    const page = selected === null ? null : await api.timeline(selected, null, pageSize).catch(() => null);
    return { conversations, selected, page };
  } catch {
    return null;
  }
}

export const api = {
  appStatus: () => call<AppStatus>('app_status'),
  setServerAddress: (address: string | null) => call<AppStatus>('set_server_address', { address }),
  setHosting: (on: boolean) => call<AppStatus>('set_hosting', { on }),
  setEmbeddedRunning: (run: boolean) => call<AppStatus>('set_embedded_running', { run }),
  register: (username: string, password: string, displayName: string | null) =>
    call<User>('register', { username, password, displayName }),
  login: (username: string, password: string) => call<User>('login', { username, password }),
  logout: () => call<null>('logout'),
  currentUser: () => call<User | null>('current_user'),
  limits: () => call<Limits>('limits'),
  conversations: () => call<Conversation[]>('conversations'),
  /** The conversation last open on screen (the window opens on it), or null. */
  lastOpened: () => call<number | null>('last_opened'),
  timeline: (conversationId: number, before: number | null = null, limit = 50) =>
    call<Timeline>('timeline', { conversationId, before, limit }),
  // The timeline window (src-tauri/src/commands/timeline_window.rs): the engine keeps what a
  // conversation pane shows and sends its changes as `window` engine events (diffs to apply).
  /** Opens the window on the newest page (also sent as a `reset` diff). */
  openWindow: (conversationId: number) => call<Timeline>('open_window', { conversationId }),
  closeWindow: (conversationId: number) => call<null>('close_window', { conversationId }),
  /** One older page into the window; whether older messages remain. */
  windowLoadOlder: (conversationId: number) => call<boolean>('window_load_older', { conversationId }),
  /** Brings a message into the window; its seq when it is there now, else null. */
  windowJump: (conversationId: number, messageId: number) =>
    call<number | null>('window_jump', { conversationId, messageId }),
  /** Loads older pages until the window reaches back to `seq`; whether it does. */
  windowReach: (conversationId: number, seq: number) =>
    call<boolean>('window_reach', { conversationId, seq }),
  windowNewest: (conversationId: number) => call<null>('window_newest', { conversationId }),
  /** Whether the reader follows the newest messages (the engine then keeps the window bounded). */
  windowFollowing: (conversationId: number, following: boolean) =>
    call<null>('window_following', { conversationId, following }),
  /** With `threadOnly`, a reply (to `replyTo`, a thread's root) stays out of the channel. */
  sendMessage: (conversationId: number, text: string, replyTo: number | null = null, threadOnly = false) =>
    call<OutboxItem>('send_message', { conversationId, text, replyTo, threadOnly }),
  editMessage: (conversationId: number, target: MessageRef, text: string) =>
    call<null>('edit_message', { conversationId, target, text }),
  deleteMessage: (conversationId: number, target: MessageRef) =>
    call<null>('delete_message', { conversationId, target }),
  react: (conversationId: number, target: MessageRef, emoji: string, add: boolean) =>
    call<null>('react', { conversationId, target, emoji, add }),
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
  /** Saves through a native Save-as dialog that starts in Downloads: where it went, or `null`
   *  when the dialog was cancelled. */
  saveAttachment: (attachment: Attachment) => call<string | null>('save_attachment', { attachment }),
  /** Opens a file with the system's default application for its type. */
  openAttachment: (attachment: Attachment) => call<null>('open_attachment', { attachment }),
  /** Copies an image to the clipboard as a picture (`not_supported` where the web view does it). */
  copyImage: (attachment: Attachment) => call<null>('copy_image', { attachment }),
  /** Quits the app (after the person confirmed a `quit-requested`). */
  quitApp: () => call<null>('quit_app'),
  sendWithFiles: (
    conversationId: number,
    text: string,
    files: { name: string; data_base64: string }[],
    replyTo: number | null = null,
    threadOnly = false,
  ) => call<OutboxItem>('send_with_files', { conversationId, text, files, replyTo, threadOnly }),
  // Threads, quoted parents, pins, read receipts (src-tauri/src/commands/timeline.rs).
  thread: (conversationId: number, root: number) => call<Thread>('thread', { conversationId, root }),
  /** The threads the user takes part in, newest reply first (needs the server). */
  threads: (limit: number | null = null) => call<ThreadEntry[]>('threads', { limit }),
  messages: (conversationId: number, ids: number[]) => call<Message[]>('messages', { conversationId, ids }),
  setPinned: (conversationId: number, messageId: number, pinned: boolean) =>
    call<Message>('set_pinned', { conversationId, messageId, pinned }),
  pins: (conversationId: number) => call<Message[]>('pins', { conversationId }),
  readReceipts: (conversationId: number) => call<ReadReceipt[]>('read_receipts', { conversationId }),

  // The account: email, password, sessions (src-tauri/src/commands/account.rs); online only.
  // The two password-reset calls work signed out, against the server the app is pointed at.
  myEmail: () => call<EmailStatus>('my_email'),
  setEmail: (email: string) => call<EmailStatus>('set_email', { email }),
  verifyEmail: (code: string) => call<EmailStatus>('verify_email', { code }),
  removeEmail: () => call<EmailStatus>('remove_email'),
  changePassword: (currentPassword: string, newPassword: string, signOutOthers: boolean) =>
    call<null>('change_password', { currentPassword, newPassword, signOutOthers }),
  requestPasswordReset: (login: string) => call<null>('request_password_reset', { login }),
  confirmPasswordReset: (token: string, newPassword: string) =>
    call<null>('confirm_password_reset', { token, newPassword }),
  sessions: () => call<SessionInfo[]>('sessions'),
  endSession: (sessionId: SessionInfo['id']) => call<null>('end_session', { sessionId }),
  /** How many sessions were ended. */
  signOutOthers: () => call<number>('sign_out_others'),
  /** "Download my data": asks where to save, then saves the account's zip there; where it went,
   *  or null when the Save-as dialog was cancelled. */
  exportMyData: () => call<string | null>('export_my_data'),

  // Server administration (src-tauri/src/commands/admin.rs): server admins only (the server
  // refuses everyone else with `forbidden`); online only.
  /** A page of accounts matching `query` (a prefix); pass the page's `next_cursor` for the next. */
  adminUsers: (query: string, cursor: string | null = null, limit: number | null = null) =>
    call<AdminUserPage>('admin_users', { query, cursor, limit }),
  deactivateUser: (userId: number) => call<AdminUser>('deactivate_user', { userId }),
  reactivateUser: (userId: number) => call<AdminUser>('reactivate_user', { userId }),
  /** Turns off an account's two-factor; answers how many sessions were signed out. */
  adminResetTwoFactor: (userId: number) => call<number>('admin_reset_two_factor', { userId }),
  /** A new password, or (`null`) a reset link mailed to the account's verified address. */
  adminSetPassword: (userId: number, newPassword: string | null) =>
    call<AdminPasswordReset>('admin_set_password', { userId, newPassword }),
  setServerAdmin: (userId: number, admin: boolean) => call<AdminUser>('set_server_admin', { userId, admin }),
  mediaUsage: () => call<MediaUsageReport>('media_usage'),
  // Signing in in steps, and two-factor (src-tauri/src/commands/two_factor.rs). The sign-in
  // calls work signed out; a step's `challenge` comes back with the second factor.
  signIn: (username: string, password: string) => call<SignInView>('sign_in', { username, password }),
  requestLoginCode: (login: string) => call<null>('request_login_code', { login }),
  signInWithCode: (login: string, code: string) => call<SignInView>('sign_in_with_code', { login, code }),
  /** Exactly one of the app's code or a recovery code. */
  completeTwoFactor: (challenge: string, proof: { code: string } | { recoveryCode: string }) =>
    call<TwoFactorSignedIn>('complete_two_factor', { challenge, ...proof }),
  twoFactorStatus: () => call<TwoFactorStatus>('two_factor_status'),
  beginTwoFactor: () => call<EnrollmentView>('begin_two_factor'),
  /** The recovery codes, to show once. */
  confirmTwoFactor: (code: string) => call<string[]>('confirm_two_factor', { code }),
  /** Exactly one of the password or a current code. */
  disableTwoFactor: (proof: { password: string } | { code: string }) =>
    call<null>('disable_two_factor', proof),
  regenerateRecoveryCodes: (code: string) => call<string[]>('regenerate_recovery_codes', { code }),

  // Profile, teams and contacts: online actions (they fail with `server_unreachable` offline).
  myProfile: () => call<User>('my_profile'),
  updateProfile: (change: UpdateProfileRequest) => call<User>('update_profile', { change }),
  setAvatarBytes: (dataBase64: string) => call<User>('set_avatar_bytes', { dataBase64 }),
  removeAvatar: () => call<User>('remove_avatar'),
  avatarDataUrl: (user: User) => call<string | null>('avatar_data_url', { user }),
  teams: () => call<Team[]>('teams'),
  createTeam: (name: string) => call<Team>('create_team', { name }),
  teamMembers: (teamId: number) => call<TeamMember[]>('team_members', { teamId }),
  addTeamMember: (teamId: number, username: string, role: MemberRole | null = null) =>
    call<null>('add_team_member', { teamId, username, role }),
  setTeamRole: (teamId: number, userId: number, role: MemberRole) =>
    call<null>('set_team_role', { teamId, userId, role }),
  removeTeamMember: (teamId: number, userId: number) => call<null>('remove_team_member', { teamId, userId }),
  transferTeam: (teamId: number, userId: number) => call<null>('transfer_team', { teamId, userId }),
  invites: (teamId: number) => call<Invite[]>('invites', { teamId }),
  createInvite: (teamId: number, expiresInSecs: number | null, maxUses: number | null) =>
    call<Invite>('create_invite', { teamId, expiresInSecs, maxUses }),
  revokeInvite: (teamId: number, inviteId: number) => call<null>('revoke_invite', { teamId, inviteId }),
  createChannel: (teamId: number, name: string, isPrivate: boolean, topic: string | null) =>
    call<Conversation>('create_channel', { teamId, name, private: isPrivate, topic }),
  contacts: () => call<ContactsView>('contacts'),
  requestContact: (username: string) => call<null>('request_contact', { username }),
  answerContactRequest: (requestId: number, accept: boolean) =>
    call<null>('answer_contact_request', { requestId, accept }),
  cancelContactRequest: (requestId: number) => call<null>('cancel_contact_request', { requestId }),
  removeContact: (userId: number) => call<null>('remove_contact', { userId }),

  // The channel browser and the people picker (src-tauri/src/commands/directory.rs): online only.
  teamChannels: (teamId: number) => call<Channel[]>('team_channels', { teamId }),
  joinChannel: (conversationId: number) => call<Conversation>('join_channel', { conversationId }),
  leaveConversation: (conversationId: number) => call<null>('leave_conversation', { conversationId }),
  searchUsers: (query: string) => call<User[]>('search_users', { query }),
  createGroup: (name: string, memberIds: number[]) => call<Conversation>('create_group', { name, memberIds }),
  openDirectUser: (userId: number) => call<Conversation>('open_direct_user', { userId }),

  // The notifications panel (from the cache; marking read needs the server).
  inbox: (limit = 50) => call<InboxItem[]>('inbox', { limit }),
  markInboxRead: (id: number) => call<number>('mark_inbox_read', { id }),
  markInboxAllRead: () => call<null>('mark_inbox_all_read'),

  // Voice notes (src-tauri/src/commands/voice.rs); progress and levels arrive as `voice-event`s.
  voiceStart: () => call<null>('voice_start'),
  voiceCancel: () => call<null>('voice_cancel'),
  voiceSend: (conversationId: number, replyTo: number | null = null, threadOnly = false) =>
    call<OutboxItem>('voice_send', { conversationId, replyTo, threadOnly }),
  voicePlay: (attachment: Attachment, fromMs: number) => call<null>('voice_play', { attachment, fromMs }),
  voicePause: () => call<null>('voice_pause'),

  // Alerts and preferences (src-tauri/src/commands/prefs.rs, alerts.rs).
  preferences: () => call<Preferences>('preferences'),
  setPreferences: (preferences: Preferences) => call<Preferences>('set_preferences', { preferences }),
  setConversationMuted: (conversationId: number, muted: boolean) =>
    call<Conversation>('set_conversation_muted', { conversationId, muted }),
  /** What is on screen: the open conversation and the `seq` of the newest confirmed message shown
   *  in it. The engine decides from these (and the window's focus) what is read. */
  setViewing: (conversationId: number | null, newestOnScreen: number | null) =>
    call<null>('set_viewing', { conversationId, newestOnScreen }),
  testSound: (sound: Sound) => call<null>('test_sound', { sound }),
  /** Opens a message link in the system browser or mail client (http, https and mailto only:
   *  anything else is refused with `link_refused`). */
  openLink: (url: string) => call<null>('open_link', { url }),
};

/** A clicked desktop notification: open this conversation at this message. */
export function onOpenMessage(handler: (target: OpenMessage) => void): Promise<UnlistenFn> {
  return listen<OpenMessage>('open-message', (e) => handler(e.payload));
}

/** The tray's Quit (or closing the window) while others use the hosted server: confirm first. */
export function onQuitRequested(handler: (request: QuitRequest) => void): Promise<UnlistenFn> {
  return listen<QuitRequest>('quit-requested', (e) => handler(e.payload));
}

// Subscribed to from every conversation pane and voice note row: one Tauri listener each, shared
// (see ./events.ts for what a listener per mount left behind).
const engineEvents = sharedListener<EngineEvent>('engine-event');
const voiceEvents = sharedListener<VoiceEvent>('voice-event');

/** Engine events (src-tauri forwards them as `engine-event`): what changed, to re-read. */
export function onEngineEvent(handler: (event: EngineEvent) => void): Promise<UnlistenFn> {
  startupStep('listen asked');
  return engineEvents(handler);
}

/** Voice events (`voice-event`): the microphone level while recording, playback progress. */
export function onVoiceEvent(handler: (event: VoiceEvent) => void): Promise<UnlistenFn> {
  return voiceEvents(handler);
}
