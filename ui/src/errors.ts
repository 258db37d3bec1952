import type { CommandError } from './api';

/** Field names the server uses, mapped to the form's inputs. */
export type FormField = 'username' | 'password' | 'display_name' | 'server';

export interface FormErrors {
  /** Shown above the form. */
  banner: string | null;
  fields: Partial<Record<FormField, string>>;
}

function minutes(secs: number): string {
  const m = Math.ceil(secs / 60);
  return m <= 1 ? 'a minute' : `${m} minutes`;
}

/** What to show for a failed sign-in, register or server change, decided by error code. */
export function describeError(error: CommandError): FormErrors {
  const fields: FormErrors['fields'] = {};
  for (const [name, problem] of Object.entries(error.fields ?? {})) {
    if (name === 'username' || name === 'password' || name === 'display_name' || name === 'server') {
      fields[name] = capitalize(problem);
    }
  }
  switch (error.code) {
    case 'validation_failed':
      return { banner: Object.keys(fields).length ? null : error.message, fields };
    case 'invalid_credentials':
      return { banner: 'Wrong username or password.', fields };
    case 'username_taken':
      return { banner: null, fields: { ...fields, username: 'This username is already taken.' } };
    case 'account_locked':
      return {
        banner: `Too many failed sign-ins for this account. Try again in ${minutes(error.retryAfterSecs ?? 900)}.`,
        fields,
      };
    case 'rate_limited':
      return {
        banner: `Too many attempts from this computer. Try again in ${error.retryAfterSecs ?? 60} seconds.`,
        fields,
      };
    case 'server_unreachable':
    case 'invalid_address':
    case 'unexpected_response':
      return { banner: null, fields: { ...fields, server: fields.server ?? error.message } };
    case 'keychain_unavailable':
      return {
        banner: `Your system keychain could not store the sign-in. ${error.message}`,
        fields,
      };
    case 'embedded_server_failed':
      return {
        banner: `${error.message} Enter the address of another server below.`,
        fields,
      };
    default:
      return { banner: error.message, fields };
  }
}

function capitalize(text: string): string {
  return text.length ? text[0].toUpperCase() + text.slice(1) : text;
}

/** What a failed account action (email, password, reset, sessions) shows: a line, and problems
 *  under the inputs named as the server names them (`email`, `code`, `current_password`,
 *  `new_password`, `token`, `login`). */
export interface AccountErrors {
  banner: string | null;
  fields: Record<string, string>;
}

/** How long to wait, in words. */
export function waitFor(secs: number): string {
  if (secs < 60) return secs <= 1 ? 'a second' : `${secs} seconds`;
  return minutes(secs);
}

/**
 * What to show for a failed account action, decided by error code. `secret` names what the
 * person typed from the mail ("code" or "token"), so an expired or used one is called by its name.
 */
export function describeAccountError(error: CommandError, secret: 'code' | 'token' = 'code'): AccountErrors {
  const fields: Record<string, string> = {};
  for (const [name, problem] of Object.entries(error.fields ?? {})) fields[name] = sentence(problem);
  switch (error.code) {
    case 'validation_failed':
      return { banner: Object.keys(fields).length ? null : sentence(error.message), fields };
    case 'code_invalid':
      return { banner: null, fields: { ...fields, [secret]: sentence(error.message) } };
    case 'code_expired':
      return {
        banner: null,
        fields: { ...fields, [secret]: `This ${secret} has expired. Ask for a new one.` },
      };
    case 'code_used':
      return {
        banner: null,
        fields: { ...fields, [secret]: `This ${secret} was already used. Ask for a new one.` },
      };
    case 'rate_limited':
    case 'account_locked':
      return {
        banner: `Too many tries for now. Try again in ${waitFor(error.retryAfterSecs ?? 60)}.`,
        fields,
      };
    case 'server_unreachable':
      return { banner: 'This needs the server, which is not reachable now.', fields };
    case 'not_found':
      return { banner: 'That is gone already: it may have ended meanwhile.', fields };
    default:
      return { banner: sentence(error.message), fields };
  }
}

/** A server message ("this code has expired; ask for a new one") as a sentence. */
function sentence(text: string): string {
  const t = capitalize(text.trim());
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/**
 * What a failed administration action shows, decided by error code: the server's refusals in
 * words an admin can act on, problems under the inputs (`new_password`) as for account actions.
 */
export function describeAdminError(error: CommandError): AccountErrors {
  switch (error.code) {
    case 'last_admin':
      return {
        banner: 'This is the server’s last admin. Make someone else an admin first.',
        fields: {},
      };
    case 'forbidden':
      return {
        banner: 'Only server admins can do this, and you are not one any more.',
        fields: {},
      };
    case 'not_found':
      return { banner: 'This account does not exist any more.', fields: {} };
    case 'unavailable':
      return {
        banner: 'This server cannot send mail. Set a new password instead.',
        fields: {},
      };
    default:
      return describeAccountError(error);
  }
}
