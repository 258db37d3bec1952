import { FormEvent, useCallback, useEffect, useState } from 'react';
import { api, EnrollmentView, toCommandError, TwoFactorStatus } from '../../api';
import { appCode, describeTwoFactorError, Enrollment, RecoveryCodesList } from './TwoFactorParts';

/** What the section shows besides its status line. */
type Mode =
  | { kind: 'idle' }
  | { kind: 'enrolling'; enrollment: EnrollmentView }
  | { kind: 'codes'; codes: string[] }
  | { kind: 'disabling' }
  | { kind: 'regenerating' };

/**
 * The Security tab's two-factor section: whether it is on and how many recovery codes are left;
 * turning it on (the key as a QR code and as text, the app's first code, then the recovery codes
 * shown once); turning it off with the password or a current code; new recovery codes. When the
 * server requires two-factor it cannot be turned off here.
 */
export function TwoFactorSettings() {
  const [status, setStatus] = useState<TwoFactorStatus | null>(null);
  const [mode, setMode] = useState<Mode>({ kind: 'idle' });
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setStatus(await api.twoFactorStatus());
    } catch (e) {
      setError(describeTwoFactorError(toCommandError(e)));
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  function show(next: Mode) {
    setMode(next);
    setCode('');
    setPassword('');
    setError(null);
    setNote(null);
  }

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      await action();
    } catch (e) {
      setError(describeTwoFactorError(toCommandError(e)));
    } finally {
      setBusy(false);
    }
  }

  function needCode(): string | null {
    const digits = appCode(code);
    if (!digits) setError('Enter the 6 digits from your authenticator app.');
    return digits;
  }

  function enable() {
    void run(async () => show({ kind: 'enrolling', enrollment: await api.beginTwoFactor() }));
  }

  function confirm(e: FormEvent) {
    e.preventDefault();
    const digits = needCode();
    if (!digits || busy) return;
    void run(async () => {
      const codes = await api.confirmTwoFactor(digits);
      show({ kind: 'codes', codes });
      await load();
    });
  }

  function disable(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    let proof: { password: string } | { code: string };
    if (password) proof = { password };
    else {
      const digits = needCode();
      if (!digits) {
        setError('Enter your password or a code from your authenticator app.');
        return;
      }
      proof = { code: digits };
    }
    void run(async () => {
      await api.disableTwoFactor(proof);
      show({ kind: 'idle' });
      setNote('Two-factor authentication is off.');
      await load();
    });
  }

  function regenerate(e: FormEvent) {
    e.preventDefault();
    const digits = needCode();
    if (!digits || busy) return;
    void run(async () => {
      const codes = await api.regenerateRecoveryCodes(digits);
      show({ kind: 'codes', codes });
      await load();
    });
  }

  const codeInput = (
    <>
      <label htmlFor="two-factor-settings-code">Code from the app</label>
      <input
        id="two-factor-settings-code"
        inputMode="numeric"
        autoComplete="one-time-code"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        disabled={busy}
      />
    </>
  );
  const problem = error && (
    <p className="field-error" role="alert" data-testid="two-factor-error">
      {error}
    </p>
  );
  const cancel = (
    <button type="button" onClick={() => show({ kind: 'idle' })} disabled={busy}>
      Cancel
    </button>
  );

  return (
    <div className="stack" data-testid="two-factor-settings">
      {status === null && !error && <p className="muted small">Loading…</p>}
      {status && (
        <div className="account-line">
          <span className="grow" data-testid="two-factor-status">
            {status.enabled
              ? `On. ${status.recovery_codes_left} recovery ${status.recovery_codes_left === 1 ? 'code' : 'codes'} left.`
              : 'Off. Signing in asks only for your password.'}
            {status.required && ' This server requires it.'}
          </span>
          {mode.kind === 'idle' && !status.enabled && (
            <button type="button" data-testid="enable-two-factor" onClick={enable} disabled={busy}>
              Turn on
            </button>
          )}
          {mode.kind === 'idle' && status.enabled && (
            <>
              <button
                type="button"
                data-testid="regenerate-recovery-codes"
                onClick={() => show({ kind: 'regenerating' })}
                disabled={busy}
              >
                New recovery codes
              </button>
              {!status.required && (
                <button
                  type="button"
                  data-testid="disable-two-factor"
                  onClick={() => show({ kind: 'disabling' })}
                  disabled={busy}
                >
                  Turn off
                </button>
              )}
            </>
          )}
        </div>
      )}
      {note && (
        <p className="muted small" role="status" data-testid="two-factor-note">
          {note}
        </p>
      )}

      {mode.kind === 'enrolling' && (
        <form
          className="stack"
          onSubmit={confirm}
          noValidate
          aria-busy={busy}
          data-testid="two-factor-enable-form"
        >
          <Enrollment enrollment={mode.enrollment} />
          {codeInput}
          {problem}
          <div className="row end">
            {cancel}
            <button type="submit" data-testid="confirm-two-factor" disabled={busy}>
              {busy ? 'Checking…' : 'Turn on'}
            </button>
          </div>
        </form>
      )}

      {mode.kind === 'codes' && (
        <div className="stack">
          <RecoveryCodesList codes={mode.codes} />
          <div className="row end">
            <button type="button" data-testid="recovery-codes-saved" onClick={() => show({ kind: 'idle' })}>
              Done
            </button>
          </div>
        </div>
      )}

      {mode.kind === 'disabling' && (
        <form
          className="stack"
          onSubmit={disable}
          noValidate
          aria-busy={busy}
          data-testid="two-factor-disable-form"
        >
          <p className="muted small">
            Confirm with your password, or with a code from your authenticator app.
          </p>
          <label htmlFor="two-factor-password">Password</label>
          <input
            id="two-factor-password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            disabled={busy}
          />
          {codeInput}
          {problem}
          <div className="row end">
            {cancel}
            <button type="submit" data-testid="confirm-disable-two-factor" disabled={busy}>
              {busy ? 'Turning off…' : 'Turn off'}
            </button>
          </div>
        </form>
      )}

      {mode.kind === 'regenerating' && (
        <form
          className="stack"
          onSubmit={regenerate}
          noValidate
          aria-busy={busy}
          data-testid="two-factor-regenerate-form"
        >
          <p className="muted small">The codes you have now stop working.</p>
          {codeInput}
          {problem}
          <div className="row end">
            {cancel}
            <button type="submit" data-testid="confirm-regenerate" disabled={busy}>
              {busy ? 'Making codes…' : 'Make new codes'}
            </button>
          </div>
        </form>
      )}

      {mode.kind === 'idle' && problem}
    </div>
  );
}
