import { FormEvent, useState } from 'react';
import { api, SignInView, toCommandError, User } from '../../api';
import { Field } from '../Field';
import {
  appCode,
  describeTwoFactorError,
  Enrollment,
  recoveryCode,
  RecoveryCodesList,
} from './TwoFactorParts';

type Step = Exclude<SignInView, { status: 'signed_in' }>;

interface Props {
  /** The sign-in's second step, as the server asked for it. */
  step: Step;
  onSignedIn: (user: User) => void;
  /** Back to the sign-in form (the challenge is dropped). */
  onCancel: () => void;
}

/**
 * A sign-in's second factor. For an account with two-factor: the authenticator app's code, or a
 * recovery code instead. When the server requires two-factor and the account has none: the new
 * key (QR code and text) and the app's first code; then the recovery codes, once, before going on.
 */
export function TwoFactorSignIn({ step, onSignedIn, onCancel }: Props) {
  const [useRecovery, setUseRecovery] = useState(false);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ user: User; codes: string[] } | null>(null);
  const setup = step.status === 'two_factor_setup_required';

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const proof = useRecovery ? recoveryCode(code) : appCode(code);
    if (!proof) {
      setError(
        useRecovery
          ? 'Enter one of your recovery codes (ten letters and digits).'
          : 'Enter the 6 digits from your authenticator app.',
      );
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await api.completeTwoFactor(
        step.challenge,
        useRecovery ? { recoveryCode: proof } : { code: proof },
      );
      if (answer.recovery_codes.length) {
        setDone({ user: answer.user, codes: answer.recovery_codes });
        setBusy(false);
      } else {
        onSignedIn(answer.user);
      }
    } catch (err) {
      setError(describeTwoFactorError(toCommandError(err), true));
      setBusy(false);
    }
  }

  if (done) {
    return (
      <div className="stack" data-testid="two-factor-done">
        <p>Two-factor authentication is on.</p>
        <RecoveryCodesList codes={done.codes} />
        <button
          type="button"
          className="primary"
          data-testid="two-factor-continue"
          onClick={() => onSignedIn(done.user)}
        >
          I saved them, continue
        </button>
      </div>
    );
  }

  return (
    <form onSubmit={submit} noValidate aria-busy={busy} data-testid="two-factor-step">
      {setup ? (
        <>
          <p className="muted">
            This server requires two-factor authentication. Add this key to an authenticator app, then enter
            the code it shows.
          </p>
          <Enrollment enrollment={step.enrollment} />
        </>
      ) : (
        <p className="muted" data-testid="two-factor-prompt">
          {useRecovery
            ? 'Enter one of the recovery codes you saved when you turned on two-factor authentication.'
            : 'Enter the 6-digit code from your authenticator app.'}
        </p>
      )}
      <Field
        id="two-factor-code"
        label={useRecovery ? 'Recovery code' : 'Code from the app'}
        error={error ?? undefined}
      >
        <input
          id="two-factor-code"
          inputMode={useRecovery ? 'text' : 'numeric'}
          autoComplete="one-time-code"
          autoCapitalize="none"
          spellCheck={false}
          autoFocus
          value={code}
          onChange={(e) => setCode(e.target.value)}
          disabled={busy}
        />
      </Field>
      <button type="submit" className="primary" data-testid="two-factor-submit" disabled={busy}>
        {busy && <span className="spinner" aria-hidden="true" />}
        {busy ? 'Checking…' : setup ? 'Turn on and sign in' : 'Sign in'}
      </button>
      {!setup && (
        <button
          type="button"
          className="link"
          data-testid="use-recovery-code"
          onClick={() => {
            setUseRecovery((r) => !r);
            setCode('');
            setError(null);
          }}
          disabled={busy}
        >
          {useRecovery ? 'Use the code from the app instead' : 'Use a recovery code instead'}
        </button>
      )}
      <button type="button" className="link" onClick={onCancel} disabled={busy}>
        Back to sign in
      </button>
    </form>
  );
}
