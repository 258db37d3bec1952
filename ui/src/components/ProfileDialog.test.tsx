import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../api';
import { fakeApp, user } from '../test/fakeApp';
import { ProfileDialog } from './ProfileDialog';

describe('profile dialog limits', () => {
  it("holds the fields to the server's limits, from the generated bindings", async () => {
    fakeApp({ my_profile: () => user() });
    render(<ProfileDialog user={user()} onClose={() => undefined} onSaved={() => undefined} />);
    expect(await screen.findByLabelText('Display name')).toHaveAttribute(
      'maxLength',
      String(LIMITS.display_name_max),
    );
    expect(screen.getByLabelText('Status')).toHaveAttribute('maxLength', String(LIMITS.status_text_max));
    expect(screen.getByLabelText('About you')).toHaveAttribute('maxLength', String(LIMITS.bio_max));
  });

  it('refuses a picture over the limit without sending it', async () => {
    const calls = fakeApp({ my_profile: () => user() });
    render(<ProfileDialog user={user()} onClose={() => undefined} onSaved={() => undefined} />);
    const big = new File([new Uint8Array(LIMITS.avatar_bytes_max + 1)], 'big.png', { type: 'image/png' });
    fireEvent.change(screen.getByTestId('avatar-input'), { target: { files: [big] } });
    expect(await screen.findByText(/A picture may be at most \d+ MiB\./)).toBeInTheDocument();
    expect(calls.find((c) => c.cmd === 'set_avatar_bytes')).toBeUndefined();
  });
});
