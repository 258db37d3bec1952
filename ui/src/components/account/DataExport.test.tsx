import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { fail, fakeApp, user } from '../../test/fakeApp';
import { ProfileDialog } from '../ProfileDialog';

async function openSecurity(handlers: Parameters<typeof fakeApp>[0]) {
  const calls = fakeApp({
    my_profile: () => user(),
    my_email: () => ({ email: null, pending: null }),
    sessions: () => [],
    two_factor_status: () => ({ enabled: false, recovery_codes_left: 0, required: false }),
    ...handlers,
  });
  render(<ProfileDialog user={user()} onClose={() => undefined} onSaved={() => undefined} />);
  await userEvent.click(screen.getByTestId('profile-tab-security'));
  await screen.findByTestId('data-export');
  return calls;
}

describe('security tab: download my data', () => {
  it('saves the export where the person chose and says where', async () => {
    const calls = await openSecurity({
      export_my_data: () => '/home/ada/Downloads/jeco-export.zip',
    });
    await userEvent.click(screen.getByTestId('export-my-data'));
    expect(await screen.findByTestId('export-saved')).toHaveTextContent(
      'Saved to /home/ada/Downloads/jeco-export.zip',
    );
    expect(calls.filter((c) => c.cmd === 'export_my_data')).toHaveLength(1);
    expect(screen.queryByTestId('export-error')).not.toBeInTheDocument();
    expect(screen.getByTestId('export-my-data')).toBeEnabled();
  });

  it('says nothing when the Save-as dialog is cancelled', async () => {
    await openSecurity({ export_my_data: () => null });
    await userEvent.click(screen.getByTestId('export-my-data'));
    expect(await screen.findByRole('button', { name: 'Download my data' })).toBeEnabled();
    expect(screen.queryByTestId('export-saved')).not.toBeInTheDocument();
    expect(screen.queryByTestId('export-error')).not.toBeInTheDocument();
  });

  it('explains the limits by error code', async () => {
    let answer: 'conflict' | 'rate_limited' | 'server_unreachable' = 'conflict';
    await openSecurity({
      export_my_data: () =>
        fail(
          answer === 'rate_limited'
            ? { code: answer, message: 'server words', retryAfterSecs: 1200 }
            : { code: answer, message: 'server words' },
        ),
    });
    await userEvent.click(screen.getByTestId('export-my-data'));
    expect(await screen.findByTestId('export-error')).toHaveTextContent(
      'Your data is already being prepared. Wait for that download to finish.',
    );
    answer = 'rate_limited';
    await userEvent.click(screen.getByTestId('export-my-data'));
    expect(await screen.findByTestId('export-error')).toHaveTextContent(
      /a few times an hour\. Try again in 20 minutes\./,
    );
    answer = 'server_unreachable';
    await userEvent.click(screen.getByTestId('export-my-data'));
    expect(await screen.findByTestId('export-error')).toHaveTextContent(
      'This needs the server, which is not reachable now.',
    );
    expect(screen.queryByTestId('export-saved')).not.toBeInTheDocument();
  });
});
