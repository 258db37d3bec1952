import { FormEvent, useEffect, useId, useRef, useState } from 'react';
import { AdminUser, api, LIMITS, toCommandError } from '../../api';
import { AccountErrors, describeAdminError } from '../../errors';

interface Props {
  account: AdminUser;
  /** The account is the signed-in admin's own. */
  self: boolean;
  /** The server answered with the account as it is now. */
  onChanged: (account: AdminUser) => void;
}

const NONE: AccountErrors = { banner: null, fields: {} };

/** A change that needs a second click: what it does, said before it is done. */
type Confirming = 'deactivate' | 'revoke' | 'two-factor';

/**
 * What an admin can do to one account: deactivate it (after a confirmation: it is signed out
 * everywhere at once) or reactivate it, grant or remove the server-admin flag (removing asks
 * first), set a new password or mail a reset link (either signs the account out everywhere), and
 * turn off its two-factor (offered only while it is on) for someone who lost their authenticator
 * (asks first; signs it out too).
 * Each result is said in a status line; a refusal (the last admin, mail not set up) in an alert.
 */
export function AccountActions({ account, self, onChanged }: Props) {
  const u = account.user;
  const who = `@${u.username}`;
  const id = useId();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<Confirming | null>(null);
  const [errors, setErrors] = useState<AccountErrors>(NONE);
  const [note, setNote] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const cancelRef = useRef<HTMLButtonElement>(null);
  const boxRef = useRef<HTMLDivElement>(null);
  // What had the focus when an action started: its button is disabled meanwhile (which drops the
  // focus to the page) or gone (a confirmation), so the focus is put back afterwards.
  const restoreRef = useRef<HTMLElement | null>(null);

  // The confirmation takes the focus (on its safe choice), so a keyboard user hears it at once.
  useEffect(() => {
    if (confirming) cancelRef.current?.focus();
  }, [confirming]);

  useEffect(() => {
    if (busy || !restoreRef.current) return;
    const before = restoreRef.current;
    restoreRef.current = null;
    const here = boxRef.current;
    if (!here || (document.activeElement && here.contains(document.activeElement))) return;
    const target =
      before.isConnected && !before.hasAttribute('disabled')
        ? before
        : here.querySelector<HTMLElement>('button:not([disabled])');
    target?.focus();
  }, [busy]);

  async function act(action: () => Promise<string>) {
    restoreRef.current = document.activeElement as HTMLElement | null;
    setBusy(true);
    setErrors(NONE);
    setNote(null);
    setConfirming(null);
    try {
      setNote(await action());
    } catch (e) {
      setErrors(describeAdminError(toCommandError(e)));
    } finally {
      setBusy(false);
    }
  }

  const deactivate = () =>
    act(async () => {
      onChanged(await api.deactivateUser(u.id));
      return `${who} is deactivated and signed out everywhere.`;
    });
  const reactivate = () =>
    act(async () => {
      onChanged(await api.reactivateUser(u.id));
      return `${who} can sign in again.`;
    });
  const setAdmin = (admin: boolean) =>
    act(async () => {
      onChanged(await api.setServerAdmin(u.id, admin));
      return admin ? `${who} is now a server admin.` : `${who} is no longer a server admin.`;
    });
  const resetTwoFactor = () =>
    act(async () => {
      const n = await api.adminResetTwoFactor(u.id);
      onChanged({ ...account, two_factor: false, live_sessions: 0 });
      return `Two-factor is off for ${who}: the password alone signs them in now.${signedOut(n)}`;
    });
  const signedOut = (n: number) =>
    n === 0 ? '' : n === 1 ? ' 1 session was signed out.' : ` ${n} sessions were signed out.`;

  function submitPassword(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    if (password.length < 8) {
      setNote(null);
      setErrors({ banner: null, fields: { new_password: 'Use at least 8 characters.' } });
      return;
    }
    void act(async () => {
      const done = await api.adminSetPassword(u.id, password);
      setPassword('');
      return `${who} has a new password.${signedOut(done.signed_out)}`;
    });
  }

  return (
    <div ref={boxRef} className="admin-actions stack" data-testid="admin-actions" aria-busy={busy}>
      <div className="admin-buttons">
        {u.deactivated ? (
          <button
            type="button"
            className="secondary"
            data-testid="admin-reactivate"
            disabled={busy}
            onClick={() => void reactivate()}
          >
            Reactivate
          </button>
        ) : (
          <button
            type="button"
            className="secondary"
            data-testid="admin-deactivate"
            disabled={busy || confirming !== null}
            onClick={() => setConfirming('deactivate')}
          >
            Deactivate…
          </button>
        )}
        {u.is_admin ? (
          <button
            type="button"
            className="secondary"
            data-testid="admin-revoke"
            disabled={busy || confirming !== null}
            onClick={() => setConfirming('revoke')}
          >
            Remove admin…
          </button>
        ) : (
          <button
            type="button"
            className="secondary"
            data-testid="admin-grant"
            disabled={busy}
            onClick={() => void setAdmin(true)}
          >
            Make admin
          </button>
        )}
      </div>

      {confirming && (
        <div
          className="admin-confirm stack"
          role="alertdialog"
          aria-labelledby={`${id}-confirm`}
          aria-describedby={`${id}-confirm-text`}
          data-testid="admin-confirm"
        >
          <strong id={`${id}-confirm`}>
            {confirming === 'deactivate'
              ? `Deactivate ${who}?`
              : confirming === 'revoke'
                ? `Remove ${who} as a server admin?`
                : `Turn off two-factor for ${who}?`}
          </strong>
          <p id={`${id}-confirm-text`} className="small">
            {confirming === 'two-factor'
              ? 'Do this only when you are sure it is them (a lost phone): they are signed out everywhere, and their password alone signs them in until they turn two-factor on again.'
              : confirming === 'deactivate'
                ? self
                  ? 'You will be signed out at once and cannot sign in again until another admin reactivates you.'
                  : 'They are signed out everywhere at once and cannot sign in until reactivated. Their messages stay.'
                : self
                  ? 'You will lose access to this panel.'
                  : 'They keep their account but can no longer administer the server.'}
          </p>
          <div className="row end">
            <button type="button" className="secondary" ref={cancelRef} onClick={() => setConfirming(null)}>
              Cancel
            </button>
            <button
              type="button"
              className="danger"
              data-testid="admin-confirm-button"
              onClick={() =>
                void (confirming === 'deactivate'
                  ? deactivate()
                  : confirming === 'revoke'
                    ? setAdmin(false)
                    : resetTwoFactor())
              }
            >
              {confirming === 'deactivate'
                ? 'Deactivate'
                : confirming === 'revoke'
                  ? 'Remove admin'
                  : 'Turn off two-factor'}
            </button>
          </div>
        </div>
      )}

      <form className="stack" onSubmit={submitPassword} noValidate data-testid="admin-password">
        <label htmlFor={`${id}-password`}>New password for {who}</label>
        <div className="admin-buttons">
          <input
            id={`${id}-password`}
            className="grow"
            type="password"
            autoComplete="new-password"
            maxLength={LIMITS.password_max}
            value={password}
            aria-invalid={errors.fields.new_password ? true : undefined}
            aria-describedby={errors.fields.new_password ? `${id}-password-error` : undefined}
            disabled={busy}
            onChange={(e) => setPassword(e.target.value)}
          />
          <button type="submit" data-testid="admin-set-password" disabled={busy}>
            Set password
          </button>
        </div>
        {errors.fields.new_password && (
          <p className="field-error" id={`${id}-password-error`} data-testid="admin-password-error">
            {errors.fields.new_password}
          </p>
        )}
        <div className="admin-buttons">
          <button
            type="button"
            className="secondary"
            data-testid="admin-mail-reset"
            disabled={busy || !account.email}
            onClick={() =>
              void act(async () => {
                const done = await api.adminSetPassword(u.id, null);
                return `A reset link was mailed to ${account.email}.${signedOut(done.signed_out)}`;
              })
            }
          >
            Mail a reset link
          </button>
          {!account.email && <span className="muted small">No verified email to mail it to.</span>}
        </div>
      </form>

      {account.two_factor && (
        <div className="admin-buttons">
          <button
            type="button"
            className="secondary"
            data-testid="admin-reset-two-factor"
            disabled={busy || confirming !== null}
            onClick={() => setConfirming('two-factor')}
          >
            Turn off two-factor…
          </button>
          <span className="muted small">For someone who lost their authenticator app.</span>
        </div>
      )}

      {errors.banner && (
        <p className="field-error" role="alert" data-testid="admin-error">
          {errors.banner}
        </p>
      )}
      {note && (
        <p className="muted small" role="status" data-testid="admin-note">
          {note}
        </p>
      )}
    </div>
  );
}
