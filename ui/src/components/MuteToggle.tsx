import { useState } from 'react';
import { api, Conversation, toCommandError } from '../api';

interface Props {
  conversation: Conversation;
  /** Called with the conversation as the app now has it. */
  onChanged?: (c: Conversation) => void;
}

/**
 * Mute / unmute the open conversation. A muted conversation raises no notifications or sounds
 * (the server stops creating them); its unread messages still count, quietly. It works offline:
 * the app goes quiet at once and tells the server through the outbox when it is back. A refused
 * change is explained next to the button.
 */
export function MuteToggle({ conversation, onChanged }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const muted = conversation.muted;

  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      const updated = await api.setConversationMuted(conversation.id, !muted);
      onChanged?.(updated);
    } catch (e) {
      setError(toCommandError(e).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <span className="mute-toggle">
      <button
        type="button"
        className="secondary small"
        data-testid="mute-toggle"
        aria-pressed={muted}
        aria-label={muted ? 'Unmute conversation' : 'Mute conversation'}
        title={
          muted ? 'Muted: no notifications or sounds. Click to unmute.' : 'Mute: no notifications or sounds'
        }
        disabled={busy}
        onClick={() => void toggle()}
      >
        <span aria-hidden="true">{muted ? '🔕' : '🔔'}</span> {muted ? 'Muted' : 'Mute'}
      </button>
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
