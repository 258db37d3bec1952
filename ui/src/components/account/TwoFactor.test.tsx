import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { App } from '../../App';
import type { EnrollmentView, TwoFactorStatus } from '../../api';
import { fail, fakeApp, user } from '../../test/fakeApp';
import { ProfileDialog } from '../ProfileDialog';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const CODES = ['abcde-fgh23', 'bcdef-ghi34', 'cdefg-hij45'];

function enrollment(): EnrollmentView {
  return {
    secret: SECRET,
    otpauth_uri: `otpauth://totp/Jeco:ada?secret=${SECRET}&issuer=Jeco`,
    qr_svg: '<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>',
  };
}

async function signInWithPassword() {
  render(<App />);
  await screen.findByRole('heading', { name: 'Welcome back' });
  await userEvent.type(screen.getByLabelText('Username'), 'ada');
  await userEvent.type(screen.getByLabelText('Password'), 'secret-password');
  await userEvent.click(screen.getByTestId('submit'));
}

describe('signing in with two-factor', () => {
  it('asks for the app’s code, explains a wrong one, takes a recovery code instead and signs in', async () => {
    const calls = fakeApp({
      sign_in: () => ({ status: 'two_factor_required', challenge: 'ch-1' }),
      complete_two_factor: (args) => {
        if (args.code === '111111') fail({ code: 'code_invalid', message: 'wrong code' });
        if (args.code === '222222') fail({ code: 'code_used', message: 'used' });
        return { user: user(), recovery_codes: [], recovery_codes_left: 9 };
      },
    });
    await signInWithPassword();
    await screen.findByRole('heading', { name: 'Two-factor authentication' });
    expect(screen.getByTestId('two-factor-prompt')).toHaveTextContent(
      'Enter the 6-digit code from your authenticator app.',
    );

    // Not six digits: said here, nothing sent.
    await userEvent.type(screen.getByLabelText('Code from the app'), '12345');
    await userEvent.click(screen.getByTestId('two-factor-submit'));
    expect(screen.getByTestId('error-two-factor-code')).toHaveTextContent(
      'Enter the 6 digits from your authenticator app.',
    );
    expect(calls.some((c) => c.cmd === 'complete_two_factor')).toBe(false);

    await userEvent.clear(screen.getByLabelText('Code from the app'));
    await userEvent.type(screen.getByLabelText('Code from the app'), '111 111');
    await userEvent.click(screen.getByTestId('two-factor-submit'));
    expect(await screen.findByTestId('error-two-factor-code')).toHaveTextContent(
      'That code is not right. Check the app and try again.',
    );
    expect(calls.find((c) => c.cmd === 'complete_two_factor')?.args).toEqual({
      challenge: 'ch-1',
      code: '111111',
    });

    await userEvent.clear(screen.getByLabelText('Code from the app'));
    await userEvent.type(screen.getByLabelText('Code from the app'), '222222');
    await userEvent.click(screen.getByTestId('two-factor-submit'));
    expect(await screen.findByTestId('error-two-factor-code')).toHaveTextContent(
      'That code was used already. Wait for the app to show the next one.',
    );

    await userEvent.click(screen.getByTestId('use-recovery-code'));
    await userEvent.type(screen.getByLabelText('Recovery code'), 'ABCDE-FGH23');
    await userEvent.click(screen.getByTestId('two-factor-submit'));
    expect(await screen.findByTestId('welcome')).toHaveTextContent('Welcome, Ada Lovelace!');
    expect(calls.filter((c) => c.cmd === 'complete_two_factor').at(-1)?.args).toEqual({
      challenge: 'ch-1',
      recoveryCode: 'ABCDE-FGH23',
    });
  });

  it('says an expired sign-in must start again, and goes back to the form', async () => {
    fakeApp({
      sign_in: () => ({ status: 'two_factor_required', challenge: 'ch-1' }),
      complete_two_factor: () => fail({ code: 'code_expired', message: 'expired' }),
    });
    await signInWithPassword();
    await userEvent.type(await screen.findByLabelText('Code from the app'), '123456');
    await userEvent.click(screen.getByTestId('two-factor-submit'));
    expect(await screen.findByTestId('error-two-factor-code')).toHaveTextContent(
      'This sign-in took too long and has expired. Sign in again.',
    );
    await userEvent.click(screen.getByRole('button', { name: 'Back to sign in' }));
    await screen.findByRole('heading', { name: 'Welcome back' });
  });

  it('enrols when the server requires it: QR code and key, first code, recovery codes once', async () => {
    const calls = fakeApp({
      sign_in: () => ({ status: 'two_factor_setup_required', challenge: 'ch-2', enrollment: enrollment() }),
      complete_two_factor: () => ({ user: user(), recovery_codes: CODES, recovery_codes_left: 3 }),
    });
    await signInWithPassword();
    expect(await screen.findByText(/This server requires two-factor authentication/)).toBeInTheDocument();
    expect(screen.getByTestId('two-factor-secret')).toHaveTextContent(SECRET);
    expect(screen.getByTestId('two-factor-qr').getAttribute('src')).toMatch(
      /^data:image\/svg\+xml;utf8,%3Csvg/,
    );
    // No recovery codes exist yet.
    expect(screen.queryByTestId('use-recovery-code')).not.toBeInTheDocument();

    await userEvent.type(screen.getByLabelText('Code from the app'), '654321');
    await userEvent.click(screen.getByTestId('two-factor-submit'));
    const codes = await screen.findByTestId('recovery-codes');
    for (const c of CODES) expect(within(codes).getByText(c)).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'complete_two_factor')?.args).toEqual({
      challenge: 'ch-2',
      code: '654321',
    });
    expect(screen.queryByTestId('welcome')).not.toBeInTheDocument();

    await userEvent.click(screen.getByTestId('two-factor-continue'));
    expect(await screen.findByTestId('welcome')).toBeInTheDocument();
  });
});

describe('signing in with a mailed code', () => {
  it('asks for a code, explains an expired one, then takes the two-factor step', async () => {
    let tries = 0;
    const calls = fakeApp({
      request_login_code: () => null,
      sign_in_with_code: () => {
        tries += 1;
        if (tries === 1) fail({ code: 'code_expired', message: 'this code has expired; ask for a new one' });
        return { status: 'two_factor_required', challenge: 'ch-3' };
      },
      complete_two_factor: () => ({ user: user(), recovery_codes: [], recovery_codes_left: 10 }),
    });
    render(<App />);
    await screen.findByRole('heading', { name: 'Welcome back' });
    await userEvent.type(screen.getByLabelText('Username'), 'ada');
    await userEvent.click(screen.getByTestId('email-sign-in-code'));
    await screen.findByRole('heading', { name: 'Sign in with a code' });
    expect(screen.getByLabelText('Username or email')).toHaveValue('ada');
    await userEvent.click(screen.getByTestId('login-code-request'));
    expect(await screen.findByTestId('login-code-sent')).toHaveTextContent('If an account matches ada');
    expect(calls.find((c) => c.cmd === 'request_login_code')?.args).toEqual({ login: 'ada' });

    await userEvent.type(screen.getByLabelText('Code from the mail'), '12');
    await userEvent.click(screen.getByTestId('login-code-submit'));
    expect(screen.getByTestId('error-login-code')).toHaveTextContent('Enter the 6 digits from the mail.');
    expect(calls.some((c) => c.cmd === 'sign_in_with_code')).toBe(false);

    await userEvent.clear(screen.getByLabelText('Code from the mail'));
    await userEvent.type(screen.getByLabelText('Code from the mail'), '123456');
    await userEvent.click(screen.getByTestId('login-code-submit'));
    expect(await screen.findByTestId('error-login-code')).toHaveTextContent(
      'This code has expired. Ask for a new one.',
    );

    await userEvent.click(screen.getByTestId('login-code-submit'));
    await screen.findByRole('heading', { name: 'Two-factor authentication' });
    expect(calls.filter((c) => c.cmd === 'sign_in_with_code').at(-1)?.args).toEqual({
      login: 'ada',
      code: '123456',
    });
    await userEvent.type(screen.getByLabelText('Code from the app'), '777777');
    await userEvent.click(screen.getByTestId('two-factor-submit'));
    expect(await screen.findByTestId('welcome')).toBeInTheDocument();
  });
});

describe('security tab: two-factor', () => {
  async function openSecurity(handlers: Parameters<typeof fakeApp>[0]) {
    const calls = fakeApp({
      my_profile: () => user(),
      my_email: () => ({ email: null, pending: null }),
      sessions: () => [],
      ...handlers,
    });
    render(<ProfileDialog user={user()} onClose={() => undefined} onSaved={() => undefined} />);
    await userEvent.click(screen.getByTestId('profile-tab-security'));
    await screen.findByTestId('two-factor-settings');
    return calls;
  }

  it('turns it on with the app’s code, shows the recovery codes once, regenerates them and turns it off', async () => {
    let state: TwoFactorStatus = { enabled: false, recovery_codes_left: 0, required: false };
    const calls = await openSecurity({
      two_factor_status: () => state,
      begin_two_factor: () => enrollment(),
      confirm_two_factor: (args) => {
        if (args.code !== '123456') fail({ code: 'code_invalid', message: 'wrong code' });
        state = { enabled: true, recovery_codes_left: 3, required: false };
        return CODES;
      },
      regenerate_recovery_codes: () => ['zzzzz-yyyyy'],
      disable_two_factor: (args) => {
        if (args.password !== 'right password') fail({ code: 'invalid_credentials', message: 'no' });
        state = { enabled: false, recovery_codes_left: 0, required: false };
        return null;
      },
    });
    expect(await screen.findByTestId('two-factor-status')).toHaveTextContent('Off.');

    await userEvent.click(screen.getByTestId('enable-two-factor'));
    expect(await screen.findByTestId('two-factor-secret')).toHaveTextContent(SECRET);
    expect(screen.getByTestId('two-factor-qr')).toHaveAttribute('alt', 'QR code of the two-factor key');
    await userEvent.type(screen.getByLabelText('Code from the app'), '000000');
    await userEvent.click(screen.getByTestId('confirm-two-factor'));
    expect(await screen.findByTestId('two-factor-error')).toHaveTextContent('That code is not right.');

    await userEvent.clear(screen.getByLabelText('Code from the app'));
    await userEvent.type(screen.getByLabelText('Code from the app'), '123456');
    await userEvent.click(screen.getByTestId('confirm-two-factor'));
    const codes = await screen.findByTestId('recovery-codes');
    for (const c of CODES) expect(within(codes).getByText(c)).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.getByTestId('two-factor-status')).toHaveTextContent('On. 3 recovery codes left.'),
    );
    await userEvent.click(screen.getByTestId('recovery-codes-saved'));
    expect(screen.queryByTestId('recovery-codes')).not.toBeInTheDocument();

    await userEvent.click(screen.getByTestId('regenerate-recovery-codes'));
    await userEvent.type(screen.getByLabelText('Code from the app'), '234567');
    await userEvent.click(screen.getByTestId('confirm-regenerate'));
    expect(await screen.findByText('zzzzz-yyyyy')).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'regenerate_recovery_codes')?.args).toEqual({ code: '234567' });
    await userEvent.click(screen.getByTestId('recovery-codes-saved'));

    await userEvent.click(screen.getByTestId('disable-two-factor'));
    await userEvent.click(screen.getByTestId('confirm-disable-two-factor'));
    expect(screen.getByTestId('two-factor-error')).toHaveTextContent(
      'Enter your password or a code from your authenticator app.',
    );
    await userEvent.type(screen.getByLabelText('Password'), 'wrong');
    await userEvent.click(screen.getByTestId('confirm-disable-two-factor'));
    expect(await screen.findByTestId('two-factor-error')).toHaveTextContent('That password is not right.');
    await userEvent.clear(screen.getByLabelText('Password'));
    await userEvent.type(screen.getByLabelText('Password'), 'right password');
    await userEvent.click(screen.getByTestId('confirm-disable-two-factor'));
    expect(await screen.findByTestId('two-factor-note')).toHaveTextContent(
      'Two-factor authentication is off.',
    );
    expect(screen.getByTestId('two-factor-status')).toHaveTextContent('Off.');
    expect(calls.filter((c) => c.cmd === 'disable_two_factor').at(-1)?.args).toEqual({
      password: 'right password',
    });
  });

  it('cannot be turned off when the server requires it', async () => {
    await openSecurity({
      two_factor_status: () => ({ enabled: true, recovery_codes_left: 1, required: true }),
    });
    expect(await screen.findByTestId('two-factor-status')).toHaveTextContent(
      'On. 1 recovery code left. This server requires it.',
    );
    expect(screen.queryByTestId('disable-two-factor')).not.toBeInTheDocument();
    expect(screen.getByTestId('regenerate-recovery-codes')).toBeInTheDocument();
  });
});
