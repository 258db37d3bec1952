import { useEffect, useRef, useState } from 'react';
import { api, onVoiceEvent, toCommandError } from '../api';
import { clock } from './voice';
import './voice.css';

type State = 'idle' | 'starting' | 'recording' | 'sending';

/** What to tell the person when the microphone does not start, by error code. */
function startProblem(code: string, message: string): string {
  switch (code) {
    case 'no_microphone':
      return 'No microphone was found. Connect one and try again.';
    case 'microphone_unavailable':
      return `The microphone cannot be used: ${message}`;
    default:
      return message;
  }
}

/** The composer's voice note control: a mic button; while recording, a level meter, a timer,
 * Cancel (or Esc) and Send. Capture, encoding and the length limit live in Rust; this shows
 * the `level` and `recording_stopped` voice events, and Send hands the note to the outbox. */
export function VoiceRecorder({
  conversationId,
  replyTo = null,
  threadOnly = false,
}: {
  conversationId: number;
  /** The message the note answers (a thread's root in the thread panel). */
  replyTo?: number | null;
  /** The note stays in the thread (see `Composer`'s `threadOnly`). */
  threadOnly?: boolean;
}) {
  const [state, setState] = useState<State>('idle');
  const [level, setLevel] = useState(0);
  const [elapsed, setElapsed] = useState(0);
  const [stopped, setStopped] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const active = state === 'recording' || state === 'sending';

  // Events are listened to from before the recording starts: a microphone that delivers faster
  // than real time (or a slow web view) can reach the length limit before a listener added after
  // `voice_start` would be in place, and its `recording_stopped` would be lost.
  const unlistenRef = useRef<(() => void) | null>(null);
  const unmounted = useRef(false);
  async function listen() {
    if (unlistenRef.current) return;
    const stop = await onVoiceEvent((event) => {
      if (event.type === 'level') {
        setLevel(event.peak);
        setElapsed(event.elapsed_ms);
      } else if (event.type === 'recording_stopped') {
        setLevel(0);
        setElapsed(event.elapsed_ms);
        setStopped(
          event.reason === 'max_length'
            ? 'Maximum length reached'
            : `The microphone stopped${event.message ? `: ${event.message}` : ''}`,
        );
      }
    });
    if (unlistenRef.current || unmounted.current) stop();
    else unlistenRef.current = stop;
  }
  function unlisten() {
    unlistenRef.current?.();
    unlistenRef.current = null;
  }
  useEffect(() => {
    if (state === 'idle') unlisten();
  }, [state]);
  useEffect(
    () => () => {
      unmounted.current = true;
      unlisten();
    },
    [],
  );

  async function start() {
    setError(null);
    setStopped(null);
    setLevel(0);
    setElapsed(0);
    setState('starting');
    try {
      await listen();
      await api.voiceStart();
      setState('recording');
    } catch (e) {
      const err = toCommandError(e);
      setError(startProblem(err.code, err.message));
      setState('idle');
    }
  }

  async function cancel() {
    setState('idle');
    await api.voiceCancel().catch((e) => setError(toCommandError(e).message));
  }

  async function send() {
    setState('sending');
    try {
      await api.voiceSend(conversationId, replyTo, threadOnly);
      setState('idle');
    } catch (e) {
      setError(toCommandError(e).message);
      setState('idle');
    }
  }

  // Esc cancels while recording.
  useEffect(() => {
    if (state !== 'recording') return;
    function onKey(e: KeyboardEvent) {
      if (e.key === 'Escape') {
        e.preventDefault();
        void cancel();
      }
    }
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [state]);

  // Leaving the conversation (or the app) with a recording running drops it.
  const activeRef = useRef(active);
  activeRef.current = active;
  useEffect(() => {
    setState('idle');
    return () => {
      if (activeRef.current) void api.voiceCancel().catch(() => undefined);
    };
  }, [conversationId]);

  if (!active) {
    return (
      <span className="voice-recorder-idle">
        <button
          type="button"
          className="secondary"
          aria-label="Record a voice note"
          data-testid="voice-record"
          disabled={state === 'starting'}
          onClick={() => void start()}
        >
          🎤
        </button>
        {error && (
          <span className="voice-error" role="alert">
            {error}
          </span>
        )}
      </span>
    );
  }

  const percent = Math.round(Math.min(1, level) * 100);
  return (
    <div
      className="voice-recorder"
      role="group"
      aria-label="Recording a voice note"
      data-testid="voice-recorder"
    >
      <button
        type="button"
        className="secondary"
        aria-label="Cancel the voice note"
        data-testid="voice-cancel"
        disabled={state === 'sending'}
        onClick={() => void cancel()}
      >
        ✕
      </button>
      <span className={stopped ? 'voice-dot stopped' : 'voice-dot'} aria-hidden="true" />
      <div
        className="voice-level"
        role="meter"
        aria-label="Microphone level"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        data-testid="voice-level"
      >
        <span style={{ width: `${percent}%` }} />
      </div>
      <span className="voice-timer" data-testid="voice-timer" aria-label={`Recorded ${clock(elapsed)}`}>
        {clock(elapsed)}
      </span>
      {stopped && <span className="muted voice-stopped">{stopped}</span>}
      <button
        type="button"
        data-testid="voice-send"
        aria-label="Send the voice note"
        disabled={state === 'sending'}
        onClick={() => void send()}
      >
        {state === 'sending' ? 'Sending…' : 'Send'}
      </button>
    </div>
  );
}
