import { FormEvent, useState } from 'react';
import { api, toCommandError, User } from '../../api';
import { AccountErrors, describeAccountError } from '../../errors';
import { Field } from '../Field';

interface Props {
  /** What the sign-in form's username held, to start from. */
  initialLogin: string;
  /** Points the app at the server the sign-in form names, as signing in does. */
  applyServer: () => Promise<void>;
  /** The new password worked: signed in with it. */
  onSignedIn: (user: User) => void;
  /** The password is set but this screen could not sign in (the person gave an email address):
   *  back to the sign-in form, filled with what is known. */
  onPasswordSet: (username: string, password: string) => void;
  onBack: () => void;
}

const NONE: AccountErrors = { banner: null, fields: {} };

/**
 * "Forgot password?": ask for a reset by username or email address, then set a new password with
 * the token from the mail. The server answers the request alike whether or not the account exists,
 * and so does this screen. A reset ends every session of the account, so it signs in afresh.
 */
export function ForgotPassword({ initialLogin, applyServer, onSignedIn, onPasswordSet, onBack }: Props) {
  const [step, setStep] = useState<'ask' | 'confirm'>('ask');
  const [login, setLogin] = useState(initialLogin);
  const [token, setToken] = useState('');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<AccountErrors>(NONE);

  async function ask(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    if (!login.trim()) {
      setErrors({ banner: null, fields: { login: 'Enter your username or email address.' } });
      return;
    }
    setBusy(true);
    setErrors(NONE);
    try {
      await applyServer();
      await api.requestPasswordReset(login.trim());
      setStep('confirm');
    } catch (err) {
      setErrors(describeAccountError(toCommandError(err)));
    } finally {
      setBusy(false);
    }
  }

  async function confirm(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const problems: Record<string, string> = {};
    if (!token.trim()) problems.token = 'Paste the token from the mail.';
    if (password.length < 8) problems.new_password = 'Use at least 8 characters.';
    else if (repeat !== password) problems.repeat = 'The two passwords differ.';
    if (Object.keys(problems).length) {
      setErrors({ banner: null, fields: problems });
      return;
    }
    setBusy(true);
    setErrors(NONE);
    try {
      await api.confirmPasswordReset(token.trim(), password);
    } catch (err) {
      setErrors(describeAccountError(toCommandError(err), 'token'));
      setBusy(false);
      return;
    }
    // Signing in needs the username; an email address given here cannot sign in.
    const name = login.trim();
    if (!name.includes('@')) {
      try {
        onSignedIn(await api.login(name, password));
        return;
      } catch {
        // Fall back to the sign-in form, which explains its own errors.
      }
    }
    setBusy(false);
    onPasswordSet(name.includes('@') ? '' : name, password);
  }

  if (step === 'ask') {
    return (
      <form onSubmit={ask} noValidate aria-busy={busy} data-testid="forgot-form">
        <p className="muted">
          Enter your username or the email address of your account. We will mail a reset token to the
          account&apos;s verified email address.
        </p>
        {errors.banner && (
          <div className="banner error" role="alert" data-testid="reset-error">
            {errors.banner}
          </div>
        )}
        <Field id="reset-login" label="Username or email" error={errors.fields.login}>
          <input
            id="reset-login"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={login}
            onChange={(e) => setLogin(e.target.value)}
            disabled={busy}
          />
        </Field>
        <button type="submit" className="primary" data-testid="reset-request" disabled={busy}>
          {busy && <span className="spinner" aria-hidden="true" />}
          {busy ? 'Sending…' : 'Send a reset token'}
        </button>
        <button type="button" className="link" onClick={onBack} disabled={busy}>
          Back to sign in
        </button>
      </form>
    );
  }

  return (
    <form onSubmit={confirm} noValidate aria-busy={busy} data-testid="reset-form">
      <div className="banner notice" role="status" data-testid="reset-sent">
        If an account matches <strong>{login.trim()}</strong>, we sent a reset token to its email address.
        Paste it here with your new password.
      </div>
      {errors.banner && (
        <div className="banner error" role="alert" data-testid="reset-error">
          {errors.banner}
        </div>
      )}
      <Field id="reset-token" label="Token from the mail" error={errors.fields.token}>
        <input
          id="reset-token"
          autoComplete="one-time-code"
          autoCapitalize="none"
          spellCheck={false}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          disabled={busy}
        />
      </Field>
      <Field
        id="reset-password"
        label="New password"
        error={errors.fields.new_password}
        hint="At least 8 characters."
      >
        <input
          id="reset-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          disabled={busy}
        />
      </Field>
      <Field id="reset-repeat" label="Repeat the new password" error={errors.fields.repeat}>
        <input
          id="reset-repeat"
          type="password"
          autoComplete="new-password"
          value={repeat}
          onChange={(e) => setRepeat(e.target.value)}
          disabled={busy}
        />
      </Field>
      <button type="submit" className="primary" data-testid="reset-confirm" disabled={busy}>
        {busy && <span className="spinner" aria-hidden="true" />}
        {busy ? 'Setting the password…' : 'Set the new password'}
      </button>
      <button
        type="button"
        className="link"
        onClick={() => {
          setErrors(NONE);
          setStep('ask');
        }}
        disabled={busy}
      >
        Ask for another token
      </button>
    </form>
  );
}
