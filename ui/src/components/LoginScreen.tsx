import { FormEvent, useEffect, useState } from 'react';
import { api, AppStatus, SignInView, toCommandError, User } from '../api';
import { describeError, FormErrors } from '../errors';
import { Logo } from './Logo';
import { HostingPanel } from './HostingPanel';
import { Field } from './Field';
import { ForgotPassword } from './account/ForgotPassword';
import { LoginCode } from './account/LoginCode';
import { TwoFactorSignIn } from './account/TwoFactorSignIn';

type Mode = 'login' | 'register';

interface Props {
  status: AppStatus | null;
  /** An error from before the form was used (for example the keychain failing at start). */
  initialError?: string | null;
  onSignedIn: (user: User, status: AppStatus) => void;
  onStatusChange: (status: AppStatus) => void;
}

const NO_ERRORS: FormErrors = { banner: null, fields: {} };

function firstMode(status: AppStatus | null): Mode {
  return status && !status.signedInBefore ? 'register' : 'login';
}

/** Sign-in and account creation, with the server address the app talks to. */
export function LoginScreen({ status, initialError = null, onSignedIn, onStatusChange }: Props) {
  // A new install opens on "Create account"; once anyone signed in here, on "Sign in".
  const [mode, setMode] = useState<Mode>(firstMode(status));
  const [modeChosen, setModeChosen] = useState(false);
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [server, setServer] = useState(status?.serverAddress ?? '');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>({ banner: initialError, fields: {} });
  // "Forgot password?" replaces the form until it is done or abandoned.
  const [forgot, setForgot] = useState(false);
  // "Email me a sign-in code" replaces the form the same way.
  const [mailedCode, setMailedCode] = useState(false);
  // The second factor a sign-in waits for; replaces the form until done or abandoned.
  const [twoFactor, setTwoFactor] = useState<Exclude<SignInView, { status: 'signed_in' }> | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  // The embedded server's address arrives after the first render; show it once known.
  useEffect(() => {
    setServer((current) => (current === '' ? (status?.serverAddress ?? '') : current));
  }, [status?.serverAddress]);

  // The status may arrive after the first render: follow it until the person picks a tab.
  useEffect(() => {
    if (!modeChosen && status) setMode(firstMode(status));
  }, [status, modeChosen]);

  function switchMode(next: Mode) {
    setModeChosen(true);
    setMode(next);
    setErrors(NO_ERRORS);
    setNotice(null);
  }

  /** Points the app at the server the form names, when it is not that one already. */
  async function applyServer(): Promise<AppStatus> {
    let current = status;
    const wanted = server.trim();
    if (!current || wanted !== (current.serverAddress ?? '')) {
      current = await api.setServerAddress(wanted === '' ? null : wanted);
      onStatusChange(current);
      setServer(current.serverAddress ?? '');
    }
    return current;
  }

  function openForgot() {
    setErrors(NO_ERRORS);
    setNotice(null);
    setForgot(true);
  }

  function openMailedCode() {
    setErrors(NO_ERRORS);
    setNotice(null);
    setMailedCode(true);
  }

  /** Signed in (with the status the app has now), or on to the step the sign-in needs. */
  function follow(step: SignInView, current: AppStatus | null) {
    if (step.status === 'signed_in') {
      if (current) onSignedIn(step.user, current);
      else
        void api.appStatus().then(
          (next) => onSignedIn(step.user, next),
          () => status && onSignedIn(step.user, status),
        );
      return;
    }
    setMailedCode(false);
    setTwoFactor(step);
  }

  function localProblems(): FormErrors['fields'] {
    const problems: FormErrors['fields'] = {};
    if (!username.trim()) problems.username = 'Enter a username.';
    if (!password) problems.password = 'Enter a password.';
    else if (mode === 'register' && password.length < 8) problems.password = 'Use at least 8 characters.';
    return problems;
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    const problems = localProblems();
    if (Object.keys(problems).length) {
      setErrors({ banner: null, fields: problems });
      return;
    }
    setBusy(true);
    setErrors(NO_ERRORS);
    setNotice(null);
    try {
      const current = await applyServer();
      if (mode === 'register') {
        onSignedIn(await api.register(username, password, displayName.trim() || null), current);
      } else {
        const step = await api.signIn(username, password);
        if (step.status !== 'signed_in') setBusy(false);
        follow(step, current);
      }
    } catch (error) {
      setErrors(describeError(toCommandError(error)));
      setBusy(false);
    }
  }

  async function useBuiltInServer() {
    setBusy(true);
    setErrors(NO_ERRORS);
    try {
      const next = await api.setServerAddress(null);
      onStatusChange(next);
      setServer(next.serverAddress ?? '');
    } catch (error) {
      setErrors(describeError(toCommandError(error)));
    } finally {
      setBusy(false);
    }
  }

  const isRegister = mode === 'register';
  const serverIsEmbedded = status?.embedded.address != null && server.trim() === status.embedded.address;

  return (
    <main className="auth-page">
      <aside className="auth-hero" aria-hidden="true">
        <div className="hero-brand">
          <Logo size={44} />
          <span>Jeco Chat</span>
        </div>
        <div className="hero-copy">
          <h2>Chat with your team, on a server you control.</h2>
          <ul>
            <li>A built-in server: nothing to set up</li>
            <li>Or join your team&apos;s server by its address</li>
            <li>Your sign-in stays in the system keychain</li>
          </ul>
        </div>
        <p className="hero-foot">Jeco Chat {status?.appVersion ? `v${status.appVersion}` : ''}</p>
      </aside>
      <div className="auth-panel">
        <section className="auth-card" aria-labelledby="auth-title">
          <header className="auth-header">
            <Logo size={48} />
            <h1 id="auth-title">
              {twoFactor
                ? 'Two-factor authentication'
                : forgot
                  ? 'Reset your password'
                  : mailedCode
                    ? 'Sign in with a code'
                    : isRegister
                      ? 'Create your account'
                      : 'Welcome back'}
            </h1>
            {!forgot && !twoFactor && !mailedCode && (
              <p className="muted">
                {isRegister ? 'Join your team on Jeco Chat.' : 'Sign in to continue to Jeco Chat.'}
              </p>
            )}
          </header>

          {twoFactor && (
            <TwoFactorSignIn
              step={twoFactor}
              onSignedIn={(user) => follow({ status: 'signed_in', user }, null)}
              onCancel={() => {
                setTwoFactor(null);
                setErrors(NO_ERRORS);
              }}
            />
          )}
          {!twoFactor && mailedCode && (
            <LoginCode
              initialLogin={username}
              applyServer={async () => {
                await applyServer();
              }}
              onStep={(step) => follow(step, null)}
              onBack={() => setMailedCode(false)}
            />
          )}
          {!twoFactor && forgot && (
            <ForgotPassword
              initialLogin={username}
              applyServer={async () => {
                await applyServer();
              }}
              onSignedIn={(user) => {
                void api.appStatus().then(
                  (next) => onSignedIn(user, next),
                  () => status && onSignedIn(user, status),
                );
              }}
              onPasswordSet={(name, newPassword) => {
                setForgot(false);
                setMode('login');
                setModeChosen(true);
                setUsername(name);
                setPassword(newPassword);
                setNotice(
                  name
                    ? 'Your new password is set. Sign in with it.'
                    : 'Your new password is set. Enter your username to sign in with it.',
                );
              }}
              onBack={() => setForgot(false)}
            />
          )}
          {!twoFactor && !forgot && !mailedCode && (
            <>
              <div className="segmented" role="tablist" aria-label="Sign in or create an account">
                <button
                  type="button"
                  role="tab"
                  data-testid="tab-login"
                  aria-selected={!isRegister}
                  className={!isRegister ? 'active' : ''}
                  onClick={() => switchMode('login')}
                  disabled={busy}
                >
                  Sign in
                </button>
                <button
                  type="button"
                  role="tab"
                  data-testid="tab-register"
                  aria-selected={isRegister}
                  className={isRegister ? 'active' : ''}
                  onClick={() => switchMode('register')}
                  disabled={busy}
                >
                  Create account
                </button>
              </div>

              {notice && (
                <div className="banner notice" role="status" data-testid="form-notice">
                  {notice}
                </div>
              )}
              {errors.banner && (
                <div className="banner error" role="alert" data-testid="form-error">
                  {errors.banner}
                </div>
              )}

              <form onSubmit={submit} noValidate aria-busy={busy}>
                <Field
                  id="username"
                  label="Username"
                  error={errors.fields.username}
                  hint={isRegister ? '3–32 characters: a–z, 0–9, _ . -' : undefined}
                >
                  <input
                    id="username"
                    name="username"
                    autoComplete="username"
                    autoCapitalize="none"
                    spellCheck={false}
                    value={username}
                    onChange={(e) => setUsername(e.target.value)}
                    disabled={busy}
                  />
                </Field>

                {isRegister && (
                  <Field id="display-name" label="Display name" optional error={errors.fields.display_name}>
                    <input
                      id="display-name"
                      name="display_name"
                      autoComplete="name"
                      value={displayName}
                      onChange={(e) => setDisplayName(e.target.value)}
                      disabled={busy}
                    />
                  </Field>
                )}

                <Field
                  id="password"
                  label="Password"
                  error={errors.fields.password}
                  hint={isRegister ? 'At least 8 characters.' : undefined}
                >
                  <input
                    id="password"
                    name="password"
                    type="password"
                    autoComplete={isRegister ? 'new-password' : 'current-password'}
                    value={password}
                    onChange={(e) => setPassword(e.target.value)}
                    disabled={busy}
                  />
                </Field>
                {!isRegister && (
                  <button
                    type="button"
                    className="link"
                    data-testid="forgot-password"
                    onClick={openForgot}
                    disabled={busy}
                  >
                    Forgot password?
                  </button>
                )}
                {!isRegister && (
                  <button
                    type="button"
                    className="link"
                    data-testid="email-sign-in-code"
                    onClick={openMailedCode}
                    disabled={busy}
                  >
                    Email me a sign-in code
                  </button>
                )}

                <div className="divider" role="presentation" />
                <Field
                  id="server-address"
                  label="Server address"
                  error={errors.fields.server}
                  hint={serverHint(status, serverIsEmbedded)}
                >
                  <input
                    id="server-address"
                    name="server"
                    autoCapitalize="none"
                    spellCheck={false}
                    placeholder="https://chat.example.com"
                    value={server}
                    onChange={(e) => setServer(e.target.value)}
                    disabled={busy}
                  />
                </Field>
                {status?.mode === 'remote' && (
                  <button type="button" className="link" onClick={useBuiltInServer} disabled={busy}>
                    Use the built-in server instead
                  </button>
                )}
                {status?.mode === 'embedded' && (serverIsEmbedded || status.embedded.state !== 'running') && (
                  <HostingPanel
                    status={status}
                    onStatusChange={(next) => {
                      onStatusChange(next);
                      setServer(next.serverAddress ?? '');
                    }}
                  />
                )}

                <button type="submit" className="primary" data-testid="submit" disabled={busy}>
                  {busy && <span className="spinner" aria-hidden="true" />}
                  {busy
                    ? isRegister
                      ? 'Creating account…'
                      : 'Signing in…'
                    : isRegister
                      ? 'Create account'
                      : 'Sign in'}
                </button>
              </form>
            </>
          )}
        </section>
      </div>
    </main>
  );
}

function serverHint(status: AppStatus | null, serverIsEmbedded: boolean): string {
  if (!status) return 'Connecting to the built-in server…';
  if (serverIsEmbedded)
    return 'Built-in server on this computer. Enter another address to join a team server.';
  if (status.embedded.state === 'failed')
    return 'The built-in server is not running; enter a server address.';
  return 'The Jeco server your team uses.';
}
