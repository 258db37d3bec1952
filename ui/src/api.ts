// The UI's only door to the app: typed wrappers over the Tauri commands of src-tauri
// (src-tauri/src/commands.rs). The UI holds no tokens and no business logic; it shows what these
// return and switches on `CommandError.code`, never on message text.
import { invoke } from '@tauri-apps/api/core';

/** A user as the server describes it (jeco_shared::users::User). */
export interface User {
  id: number;
  username: string;
  display_name: string | null;
  bio: string | null;
  status_text: string | null;
  is_admin: boolean;
  created_at: string;
}

/** src-tauri session::AppStatus */
export interface AppStatus {
  appVersion: string;
  mode: 'embedded' | 'remote';
  serverAddress: string | null;
  embedded: {
    state: 'running' | 'stopped' | 'failed';
    address: string | null;
    dataDir: string;
    error: string | null;
  };
}

/** src-tauri error::CommandError: every command failure has this shape. */
export interface CommandError {
  code: string;
  message: string;
  fields?: Record<string, string>;
  retryAfterSecs?: number;
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
};
