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
