import { FormEvent, useState } from 'react';
import { api, toCommandError } from '../../api';
import { AccountErrors, describeAccountError } from '../../errors';

const NONE: AccountErrors = { banner: null, fields: {} };

interface Props {
  /** The password changed (other devices may have been signed out: the list is stale). */
  onChanged: () => void;
}

/** Change the password, knowing the current one; other devices are signed out unless unticked. */
export function PasswordChange({ onChanged }: Props) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [signOutOthers, setSignOutOthers] = useState(true);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<AccountErrors>(NONE);
  const [note, setNote] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    const problems: Record<string, string> = {};
    if (!current) problems.current_password = 'Enter your current password.';
    if (next.length < 8) problems.new_password = 'Use at least 8 characters.';
    else if (repeat !== next) problems.repeat = 'The two passwords differ.';
    setNote(null);
    if (Object.keys(problems).length) {
      setErrors({ banner: null, fields: problems });
      return;
    }
    setBusy(true);
    setErrors(NONE);
    try {
      await api.changePassword(current, next, signOutOthers);
      setCurrent('');
      setNext('');
      setRepeat('');
      setNote(
        signOutOthers
          ? 'Your password is changed, and your other devices are signed out.'
          : 'Your password is changed.',
      );
      onChanged();
    } catch (err) {
      setErrors(describeAccountError(toCommandError(err)));
    } finally {
      setBusy(false);
    }
  }

  const problem = (field: string) =>
    errors.fields[field] && (
      <p className="field-error" data-testid={`error-${field}`}>
        {errors.fields[field]}
      </p>
    );

  return (
    <form onSubmit={submit} className="stack" noValidate aria-busy={busy} data-testid="password-change">
      <label htmlFor="current-password">Current password</label>
      <input
        id="current-password"
        type="password"
        autoComplete="current-password"
        value={current}
        aria-invalid={errors.fields.current_password ? true : undefined}
        onChange={(e) => setCurrent(e.target.value)}
        disabled={busy}
      />
      {problem('current_password')}
      <label htmlFor="new-password">New password</label>
      <input
        id="new-password"
        type="password"
        autoComplete="new-password"
        value={next}
        aria-invalid={errors.fields.new_password ? true : undefined}
        onChange={(e) => setNext(e.target.value)}
        disabled={busy}
      />
      {problem('new_password')}
      <label htmlFor="repeat-password">Repeat the new password</label>
      <input
        id="repeat-password"
        type="password"
        autoComplete="new-password"
        value={repeat}
        aria-invalid={errors.fields.repeat ? true : undefined}
        onChange={(e) => setRepeat(e.target.value)}
        disabled={busy}
      />
      {problem('repeat')}
      <label className="check">
        <input
          type="checkbox"
          checked={signOutOthers}
          onChange={(e) => setSignOutOthers(e.target.checked)}
          disabled={busy}
        />
        Sign out my other devices
      </label>
      {errors.banner && (
        <p className="field-error" role="alert">
          {errors.banner}
        </p>
      )}
      {note && (
        <p className="muted small" role="status" data-testid="password-changed">
          {note}
        </p>
      )}
      <div className="row end">
        <button type="submit" data-testid="change-password" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </div>
    </form>
  );
}
