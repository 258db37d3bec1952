import { useState } from 'react';
import type { CommandError, EnrollmentView } from '../../api';
import { describeAccountError, waitFor } from '../../errors';

/** The authenticator app's codes: six digits (spaces the app shows between groups ignored). */
export function appCode(text: string): string | null {
  const digits = text.replace(/\s/g, '');
  return /^\d{6}$/.test(digits) ? digits : null;
}

/** A recovery code as typed: ten letters and digits, dashes and spaces ignored. */
export function recoveryCode(text: string): string | null {
  const cleaned = text.replace(/[\s-]/g, '');
  return /^[a-zA-Z2-7]{10}$/.test(cleaned) ? text.trim() : null;
}

/**
 * What a refused two-factor code shows, as a sentence. `challenge` says whether the code answered
 * a sign-in's challenge (whose expiry means signing in again) rather than a settings change.
 */
export function describeTwoFactorError(error: CommandError, challenge = false): string {
  switch (error.code) {
    case 'code_invalid':
      return 'That code is not right. Check the app and try again.';
    case 'code_used':
      return 'That code was used already. Wait for the app to show the next one.';
    case 'code_expired':
      return challenge
        ? 'This sign-in took too long and has expired. Sign in again.'
        : 'That code has expired. Ask for a new one.';
    case 'account_locked':
    case 'rate_limited':
      return `Too many wrong codes for now. Try again in ${waitFor(error.retryAfterSecs ?? 60)}.`;
    case 'invalid_credentials':
      return 'That password is not right.';
    default: {
      const described = describeAccountError(error);
      return described.banner ?? Object.values(described.fields)[0] ?? error.message;
    }
  }
}

async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** A Copy button that says whether it worked. */
function CopyButton({ text, testId, label = 'Copy' }: { text: string; testId: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      data-testid={testId}
      onClick={() => void copy(text).then((ok) => setState(ok ? 'copied' : 'failed'))}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy it' : label}
    </button>
  );
}

/** A new secret for the authenticator app: its QR code (drawn by the app) and the text. */
export function Enrollment({ enrollment }: { enrollment: EnrollmentView }) {
  return (
    <div className="stack" data-testid="two-factor-enrollment">
      <p className="muted small">
        Scan this QR code with your authenticator app (for example Aegis, Google Authenticator or 1Password),
        or type the key into it.
      </p>
      <img
        className="qr-code"
        data-testid="two-factor-qr"
        width={200}
        height={200}
        alt="QR code of the two-factor key"
        src={`data:image/svg+xml;utf8,${encodeURIComponent(enrollment.qr_svg)}`}
      />
      <div className="account-line">
        <code className="grow" data-testid="two-factor-secret">
          {enrollment.secret}
        </code>
        <CopyButton text={enrollment.secret} testId="copy-secret" />
      </div>
    </div>
  );
}

/** Recovery codes, shown this once: each signs in once when the app is not at hand. */
export function RecoveryCodesList({ codes }: { codes: string[] }) {
  return (
    <div className="stack" data-testid="recovery-codes">
      <p className="banner notice" role="status">
        Save these recovery codes somewhere safe. Each one signs you in once if you lose your authenticator
        app. They are shown only now.
      </p>
      <ul className="recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <div className="row end">
        <CopyButton text={codes.join('\n')} testId="copy-recovery-codes" label="Copy the codes" />
      </div>
    </div>
  );
}
