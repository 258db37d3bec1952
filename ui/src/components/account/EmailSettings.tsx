import { FormEvent, useEffect, useState } from 'react';
import { api, EmailStatus, LIMITS, toCommandError } from '../../api';
import { AccountErrors, describeAccountError } from '../../errors';

const NONE: AccountErrors = { banner: null, fields: {} };

/**
 * The account's email address: added by mailing a 6-digit code to it and typing the code here;
 * shown as verified once it is the account's (password resets go there); removable. Only the
 * account itself sees it.
 */
export function EmailSettings() {
  const [status, setStatus] = useState<EmailStatus | null>(null);
  const [changing, setChanging] = useState(false);
  const [address, setAddress] = useState('');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<AccountErrors>(NONE);
  const [note, setNote] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api.myEmail().then(
      (s) => live && setStatus(s),
      (e) => live && setErrors(describeAccountError(toCommandError(e))),
    );
    return () => {
      live = false;
    };
  }, []);

  async function run(action: () => Promise<EmailStatus>, done: string | null) {
    setBusy(true);
    setErrors(NONE);
    setNote(null);
    try {
      setStatus(await action());
      setNote(done);
      return true;
    } catch (e) {
      setErrors(describeAccountError(toCommandError(e)));
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function sendCode(e: FormEvent) {
    e.preventDefault();
    if (!address.trim()) {
      setErrors({ banner: null, fields: { email: 'Enter an email address.' } });
      return;
    }
    if (await run(() => api.setEmail(address.trim()), null)) {
      setChanging(false);
      setCode('');
    }
  }

  async function verify(e: FormEvent) {
    e.preventDefault();
    if (!/^\d{6}$/.test(code.trim())) {
      setErrors({ banner: null, fields: { code: 'Enter the 6 digits from the mail.' } });
      return;
    }
    if (await run(() => api.verifyEmail(code.trim()), 'Your email address is verified.')) setCode('');
  }

  const pending = status?.pending ?? null;
  const asking = status !== null && (changing || (!status.email && !pending));

  return (
    <div className="stack" data-testid="email-settings">
      {status?.email && (
        <div className="account-line">
          <span className="grow" data-testid="email-address">
            {status.email}
          </span>
          <span className="role" data-testid="email-verified">
            Verified
          </span>
          <button
            type="button"
            className="secondary small"
            onClick={() => void run(() => api.removeEmail(), 'Your email address is removed.')}
            disabled={busy}
          >
            Remove
          </button>
        </div>
      )}
      {status && !status.email && !pending && !changing && (
        <p className="muted small">No email address yet: add one so you can reset a forgotten password.</p>
      )}
      {pending && !changing && (
        <form onSubmit={verify} className="stack" noValidate aria-busy={busy}>
          <p className="muted small" data-testid="email-pending">
            We sent a 6-digit code to <strong>{pending}</strong>. Enter it here to use this address.
          </p>
          <label htmlFor="email-code">Code from the mail</label>
          <div className="row end">
            <input
              id="email-code"
              className="grow"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={LIMITS.email_code_len}
              value={code}
              aria-invalid={errors.fields.code ? true : undefined}
              onChange={(e) => setCode(e.target.value)}
              disabled={busy}
            />
            <button type="submit" data-testid="verify-email" disabled={busy}>
              Verify
            </button>
          </div>
          {errors.fields.code && (
            <p className="field-error" role="alert" data-testid="email-code-error">
              {errors.fields.code}
            </p>
          )}
          <button type="button" className="link" onClick={() => setChanging(true)} disabled={busy}>
            Use another address
          </button>
        </form>
      )}
      {!asking && status?.email && !pending && (
        <button type="button" className="link" onClick={() => setChanging(true)} disabled={busy}>
          Change the address
        </button>
      )}
      {asking && (
        <form onSubmit={sendCode} className="stack" noValidate aria-busy={busy}>
          <label htmlFor="email-address-input">{status?.email ? 'New email address' : 'Email address'}</label>
          <div className="row end">
            <input
              id="email-address-input"
              className="grow"
              type="email"
              autoComplete="email"
              value={address}
              aria-invalid={errors.fields.email ? true : undefined}
              onChange={(e) => setAddress(e.target.value)}
              disabled={busy}
            />
            <button type="submit" data-testid="set-email" disabled={busy}>
              Send a code
            </button>
          </div>
          {errors.fields.email && (
            <p className="field-error" role="alert">
              {errors.fields.email}
            </p>
          )}
          {changing && (
            <button type="button" className="link" onClick={() => setChanging(false)} disabled={busy}>
              Cancel
            </button>
          )}
        </form>
      )}
      {errors.banner && (
        <p className="field-error" role="alert" data-testid="email-error">
          {errors.banner}
        </p>
      )}
      {note && (
        <p className="muted small" role="status">
          {note}
        </p>
      )}
    </div>
  );
}
