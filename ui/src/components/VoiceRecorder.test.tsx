import { act, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';
import { fail, fakeApp } from '../test/fakeApp';
import { VoiceRecorder } from './VoiceRecorder';

const outboxItem = { id: 1, conversation_id: 7, kind: 'send', state: 'pending' };

describe('VoiceRecorder', () => {
  it('records with a live level meter and timer, then sends the note to the conversation', async () => {
    const calls = fakeApp({
      voice_start: () => null,
      voice_send: () => outboxItem,
    });
    render(<VoiceRecorder conversationId={7} />);
    await userEvent.click(screen.getByRole('button', { name: 'Record a voice note' }));
    const meter = await screen.findByRole('meter', { name: 'Microphone level' });
    expect(meter).toHaveAttribute('aria-valuenow', '0');
    expect(screen.getByTestId('voice-timer')).toHaveTextContent('0:00');

    await act(() => emit('voice-event', { type: 'level', peak: 0.62, rms: 0.3, elapsed_ms: 65_400 }));
    expect(meter).toHaveAttribute('aria-valuenow', '62');
    expect(screen.getByTestId('voice-timer')).toHaveTextContent('1:05');

    await userEvent.click(screen.getByRole('button', { name: 'Send the voice note' }));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'voice_send')?.args).toEqual({
        conversationId: 7,
        replyTo: null,
        threadOnly: false,
      }),
    );
    expect(await screen.findByRole('button', { name: 'Record a voice note' })).toBeEnabled();
    expect(screen.queryByRole('meter')).not.toBeInTheDocument();
  });

  it('cancels with Esc or the cancel button, sending nothing', async () => {
    const calls = fakeApp({ voice_start: () => null, voice_cancel: () => null });
    render(<VoiceRecorder conversationId={7} />);
    await userEvent.click(screen.getByRole('button', { name: 'Record a voice note' }));
    await screen.findByRole('group', { name: 'Recording a voice note' });
    await userEvent.keyboard('{Escape}');
    expect(await screen.findByRole('button', { name: 'Record a voice note' })).toBeInTheDocument();
    expect(calls.filter((c) => c.cmd === 'voice_cancel')).toHaveLength(1);

    await userEvent.click(screen.getByRole('button', { name: 'Record a voice note' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Cancel the voice note' }));
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'voice_cancel')).toHaveLength(2));
    expect(calls.some((c) => c.cmd === 'voice_send')).toBe(false);
  });

  it('says when there is no microphone, by error code', async () => {
    fakeApp({
      voice_start: () => fail({ code: 'no_microphone', message: 'No microphone was found.' }),
    });
    render(<VoiceRecorder conversationId={7} />);
    await userEvent.click(screen.getByRole('button', { name: 'Record a voice note' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'No microphone was found. Connect one and try again.',
    );
    expect(screen.queryByRole('meter')).not.toBeInTheDocument();
  });

  it('shows that the maximum length stopped the recording, which can still be sent', async () => {
    const calls = fakeApp({ voice_start: () => null, voice_send: () => outboxItem });
    render(<VoiceRecorder conversationId={3} />);
    await userEvent.click(screen.getByRole('button', { name: 'Record a voice note' }));
    await screen.findByRole('meter');
    await act(() =>
      emit('voice-event', { type: 'recording_stopped', reason: 'max_length', elapsed_ms: 300_000 }),
    );
    expect(screen.getByText('Maximum length reached')).toBeInTheDocument();
    expect(screen.getByTestId('voice-timer')).toHaveTextContent('5:00');
    await userEvent.click(screen.getByRole('button', { name: 'Send the voice note' }));
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === 'voice_send')?.args).toEqual({
        conversationId: 3,
        replyTo: null,
        threadOnly: false,
      }),
    );
  });
});
