import { FormEvent, useState } from 'react';
import { api, SignInView, toCommandError } from '../../api';
import { AccountErrors, describeAccountError } from '../../errors';
import { Field } from '../Field';

interface Props {
  /** What the sign-in form's username held, to start from. */
  initialLogin: string;
  /** Points the app at the server the sign-in form names, as signing in does. */
  applyServer: () => Promise<void>;
  /** The code was right: signed in, or the two-factor step to take. */
  onStep: (step: SignInView) => void;
  onBack: () => void;
}

const NONE: AccountErrors = { banner: null, fields: {} };

/**
 * "Email me a sign-in code": a 6-digit code mailed to the account's verified address stands in
 * for the password. The server answers the request alike whether or not the account exists, and
 * so does this screen. An account with two-factor still takes that step after the code.
 */
export function LoginCode({ initialLogin, applyServer, onStep, onBack }: Props) {
  const [step, setStep] = useState<'ask' | 'enter'>('ask');
  const [login, setLogin] = useState(initialLogin);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<AccountErrors>(NONE);

  async function ask(e?: FormEvent) {
    e?.preventDefault();
    if (busy) return;
    if (!login.trim()) {
      setErrors({ banner: null, fields: { login: 'Enter your username or email address.' } });
      return;
    }
    setBusy(true);
    setErrors(NONE);
    try {
      await applyServer();
      await api.requestLoginCode(login.trim());
      setCode('');
      setStep('enter');
    } catch (err) {
      setErrors(describeAccountError(toCommandError(err)));
    } finally {
      setBusy(false);
    }
  }

  async function enter(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const digits = code.replace(/\s/g, '');
    if (!/^\d{6}$/.test(digits)) {
      setErrors({ banner: null, fields: { code: 'Enter the 6 digits from the mail.' } });
      return;
    }
    setBusy(true);
    setErrors(NONE);
    try {
      onStep(await api.signInWithCode(login.trim(), digits));
    } catch (err) {
      setErrors(describeAccountError(toCommandError(err)));
      setBusy(false);
    }
  }

  const banner = errors.banner && (
    <div className="banner error" role="alert" data-testid="login-code-error">
      {errors.banner}
    </div>
  );

  if (step === 'ask') {
    return (
      <form onSubmit={ask} noValidate aria-busy={busy} data-testid="login-code-form">
        <p className="muted">
          Enter your username or the email address of your account. We will mail a 6-digit sign-in code to the
          account&apos;s verified email address.
        </p>
        {banner}
        <Field id="login-code-login" label="Username or email" error={errors.fields.login}>
          <input
            id="login-code-login"
            autoComplete="username"
            autoCapitalize="none"
            spellCheck={false}
            value={login}
            onChange={(e) => setLogin(e.target.value)}
            disabled={busy}
          />
        </Field>
        <button type="submit" className="primary" data-testid="login-code-request" disabled={busy}>
          {busy && <span className="spinner" aria-hidden="true" />}
          {busy ? 'Sending…' : 'Email me a code'}
        </button>
        <button type="button" className="link" onClick={onBack} disabled={busy}>
          Back to sign in
        </button>
      </form>
    );
  }

  return (
    <form onSubmit={enter} noValidate aria-busy={busy} data-testid="login-code-enter">
      <div className="banner notice" role="status" data-testid="login-code-sent">
        If an account matches <strong>{login.trim()}</strong> and has a verified email address, we sent it a
        6-digit sign-in code.
      </div>
      {banner}
      <Field id="login-code" label="Code from the mail" error={errors.fields.code}>
        <input
          id="login-code"
          inputMode="numeric"
          autoComplete="one-time-code"
          value={code}
          onChange={(e) => setCode(e.target.value)}
          disabled={busy}
        />
      </Field>
      <button type="submit" className="primary" data-testid="login-code-submit" disabled={busy}>
        {busy && <span className="spinner" aria-hidden="true" />}
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      <button type="button" className="link" onClick={() => void ask()} disabled={busy}>
        Send another code
      </button>
      <button type="button" className="link" onClick={onBack} disabled={busy}>
        Back to sign in
      </button>
    </form>
  );
}
