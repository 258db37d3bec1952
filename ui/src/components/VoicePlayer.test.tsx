import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import type { Attachment } from '../api';
import { fail, fakeApp } from '../test/fakeApp';
import { Attachments } from './Attachments';
import { VoicePlayer } from './VoicePlayer';

function voiceNote(overrides: Partial<Attachment> = {}): Attachment {
  return {
    id: 42,
    kind: 'voice',
    name: 'Voice note.ogg',
    content_type: 'audio/ogg',
    size: 20_000,
    sha256: 'a'.repeat(64),
    duration_ms: 12_000,
    waveform: Array.from({ length: 96 }, (_, i) => (i % 2 ? 255 : 20)),
    has_thumbnail: false,
    created_at: '2026-11-23T10:00:00Z',
    ...overrides,
  };
}

const playback = (position_ms: number, playing: boolean, attachment_id = 42) => ({
  type: 'playback',
  attachment_id,
  position_ms,
  duration_ms: 12_000,
  playing,
});

describe('VoicePlayer', () => {
  it('draws the waveform and the length, plays, shows progress, pauses and resumes', async () => {
    const calls = fakeApp({ voice_play: () => null, voice_pause: () => null });
    const note = voiceNote();
    render(<VoicePlayer attachment={note} />);
    const progress = screen.getByRole('progressbar', { name: 'Voice note progress' });
    expect(progress.querySelectorAll('.bar')).toHaveLength(48);
    expect(screen.getByTestId('voice-time')).toHaveTextContent('0:12');

    await userEvent.click(screen.getByRole('button', { name: 'Play voice note' }));
    expect(calls.find((c) => c.cmd === 'voice_play')?.args).toEqual({ attachment: note, fromMs: 0 });
    await act(() => emit('voice-event', playback(3_000, true)));
    expect(progress).toHaveAttribute('aria-valuenow', '3000');
    expect(progress).toHaveAttribute('aria-valuetext', '0:03 of 0:12');
    expect(screen.getByTestId('voice-time')).toHaveTextContent('0:03 / 0:12');
    expect(progress.querySelectorAll('.bar.played')).toHaveLength(12);

    // Another note's progress is not this one's.
    await act(() => emit('voice-event', playback(9_000, true, 43)));
    expect(progress).toHaveAttribute('aria-valuenow', '3000');

    await userEvent.click(screen.getByRole('button', { name: 'Pause voice note' }));
    expect(calls.some((c) => c.cmd === 'voice_pause')).toBe(true);
    await act(() => emit('voice-event', playback(3_500, false)));
    await userEvent.click(screen.getByRole('button', { name: 'Play voice note' }));
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'voice_play').at(-1)?.args).toEqual({
        attachment: note,
        fromMs: 3_500,
      }),
    );

    // Played to the end: the next Play starts over.
    await act(() => emit('voice-event', playback(12_000, false)));
    await userEvent.click(screen.getByRole('button', { name: 'Play voice note' }));
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'voice_play').at(-1)?.args).toEqual({
        attachment: note,
        fromMs: 0,
      }),
    );
  });

  it('explains a note that cannot be played', async () => {
    fakeApp({
      voice_play: () =>
        fail({ code: 'audio_output_unavailable', message: 'No speaker or headphones can be opened.' }),
    });
    render(<VoicePlayer attachment={voiceNote({ waveform: undefined })} />);
    expect(screen.getByRole('progressbar').querySelectorAll('.bar')).toHaveLength(48);
    await userEvent.click(screen.getByRole('button', { name: 'Play voice note' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('No speaker or headphones can be opened.');
  });

  it('is what the timeline shows for voice attachments', () => {
    fakeApp({});
    render(<Attachments attachments={[voiceNote()]} />);
    const player = screen.getByTestId('voice-player');
    expect(within(player).getByRole('button', { name: 'Play voice note' })).toBeInTheDocument();
    expect(screen.queryByTestId('attachment-file')).not.toBeInTheDocument();
  });
});
