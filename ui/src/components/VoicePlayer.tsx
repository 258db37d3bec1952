import { useEffect, useState } from 'react';
import { api, Attachment, onVoiceEvent, toCommandError } from '../api';
import { bars, clock } from './voice';
import './voice.css';

const BARS = 48;

/** A voice note in the timeline: play/pause, the waveform (from the attachment's peaks) filling
 * as it plays, elapsed and total time. Sound comes from the Rust side (rodio), which reports
 * progress as `playback` voice events; clicking the waveform plays from there. */
export function VoicePlayer({ attachment }: { attachment: Attachment }) {
  const [duration, setDuration] = useState(attachment.duration_ms ?? 0);
  const [position, setPosition] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let unlisten: (() => void) | undefined;
    let gone = false;
    void onVoiceEvent((event) => {
      if (event.type !== 'playback' || event.attachment_id !== attachment.id) return;
      setPosition(event.position_ms);
      setDuration(event.duration_ms);
      setPlaying(event.playing);
    }).then((stop) => {
      if (gone) stop();
      else unlisten = stop;
    });
    return () => {
      gone = true;
      unlisten?.();
    };
  }, [attachment.id]);

  async function play(fromMs: number) {
    setBusy(true);
    setError(null);
    try {
      await api.voicePlay(attachment, fromMs);
    } catch (e) {
      setError(toCommandError(e).message);
    } finally {
      setBusy(false);
    }
  }

  async function toggle() {
    if (playing) {
      await api.voicePause().catch((e) => setError(toCommandError(e).message));
    } else {
      await play(position >= duration ? 0 : position);
    }
  }

  const fraction = duration > 0 ? Math.min(1, position / duration) : 0;
  const heights = bars(attachment.waveform, BARS);
  return (
    <div className="voice-player" data-testid="voice-player" data-playing={playing}>
      <button
        type="button"
        className="voice-play"
        data-testid="voice-play"
        aria-label={playing ? 'Pause voice note' : 'Play voice note'}
        disabled={busy}
        onClick={() => void toggle()}
      >
        {playing ? '❚❚' : '▶'}
      </button>
      <div
        className="voice-wave"
        role="progressbar"
        aria-label="Voice note progress"
        aria-valuemin={0}
        aria-valuemax={duration}
        aria-valuenow={position}
        aria-valuetext={`${clock(position)} of ${clock(duration)}`}
        data-testid="voice-progress"
        onClick={(e) => {
          const box = e.currentTarget.getBoundingClientRect();
          if (box.width > 0 && duration > 0) {
            void play(Math.round(((e.clientX - box.left) / box.width) * duration));
          }
        }}
      >
        {heights.map((h, i) => (
          <span
            key={i}
            className={(i + 0.5) / heights.length <= fraction ? 'bar played' : 'bar'}
            style={{ height: `${Math.max(12, Math.round(h * 100))}%` }}
          />
        ))}
      </div>
      <span className="voice-time muted" data-testid="voice-time">
        {playing || position > 0 ? `${clock(position)} / ${clock(duration)}` : clock(duration)}
      </span>
      {error && (
        <span className="voice-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
