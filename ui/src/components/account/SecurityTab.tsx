import { useState } from 'react';
import { DataExport } from './DataExport';
import { EmailSettings } from './EmailSettings';
import { PasswordChange } from './PasswordChange';
import { SessionList } from './SessionList';
import { TwoFactorSettings } from './TwoFactorSettings';
import './account.css';

/** The profile dialog's Security tab: the email address, the signed-in devices, the password,
 *  two-factor authentication, and downloading the account's data. */
export function SecurityTab() {
  // A password change may sign other devices out: the list is read again.
  const [sessionsVersion, setSessionsVersion] = useState(0);
  return (
    <div className="stack" data-testid="security-tab">
      <h3>Email</h3>
      <EmailSettings />
      <h3>Signed-in devices</h3>
      <SessionList version={sessionsVersion} />
      <h3>Password</h3>
      <PasswordChange onChanged={() => setSessionsVersion((v) => v + 1)} />
      <h3>Two-factor authentication</h3>
      <TwoFactorSettings />
      <h3>Your data</h3>
      <DataExport />
    </div>
  );
}
