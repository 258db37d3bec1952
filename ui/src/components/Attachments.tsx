import { useEffect, useState } from 'react';
import { api, Attachment, toCommandError } from '../api';
import { ImageViewer, openInGallery } from './ImageViewer';
import { VoicePlayer } from './VoicePlayer';

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** An image, shown from its thumbnail (or itself) through the engine's media cache, sized from
 * the stored dimensions so the timeline does not jump when it loads. A click opens it in the
 * viewer: the conversation's (with its other images), or one of its own outside a conversation. */
function ImageAttachment({ attachment }: { attachment: Attachment }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const [alone, setAlone] = useState(false);
  useEffect(() => {
    let cancelled = false;
    api.attachmentDataUrl(attachment, attachment.has_thumbnail).then(
      (url) => !cancelled && setSrc(url),
      () => !cancelled && setFailed(true),
    );
    return () => {
      cancelled = true;
    };
    // Keyed by what changes the picture, not by object identity: every timeline refresh makes
    // new attachment objects, and each would otherwise read the image again.
  }, [attachment.id, attachment.has_thumbnail]);
  const w = attachment.width ?? 320;
  const h = attachment.height ?? 240;
  const scale = Math.min(1, 320 / w, 240 / h);
  const style = { width: Math.round(w * scale), height: Math.round(h * scale) };
  if (failed) return <FileAttachment attachment={attachment} />;
  return src ? (
    <>
      <button
        type="button"
        className="attachment-image-button"
        aria-label={`Open ${attachment.name}`}
        aria-haspopup="dialog"
        data-testid="open-image"
        onClick={() => openInGallery(attachment) || setAlone(true)}
      >
        <img
          className="attachment-image"
          src={src}
          alt={attachment.name}
          style={style}
          data-testid="attachment-image"
        />
      </button>
      {alone && (
        <ImageViewer
          images={[attachment]}
          current={attachment}
          onShow={() => undefined}
          onClose={() => setAlone(false)}
        />
      )}
    </>
  ) : (
    <div className="attachment-image placeholder" style={style} aria-label={`Loading ${attachment.name}`} />
  );
}

/** A file: Open (with the system's default application for it) and Save (a Save-as dialog that
 * starts in Downloads). */
function FileAttachment({ attachment }: { attachment: Attachment }) {
  const [note, setNote] = useState<string | null>(null);
  async function save() {
    setNote('Saving…');
    try {
      const where = await api.saveAttachment(attachment);
      setNote(where ? `Saved to ${where}` : null);
    } catch (e) {
      setNote(toCommandError(e).message);
    }
  }
  async function open() {
    setNote('Opening…');
    try {
      await api.openAttachment(attachment);
      setNote(null);
    } catch (e) {
      setNote(toCommandError(e).message);
    }
  }
  return (
    <div className="attachment-file" data-testid="attachment-file">
      <span aria-hidden="true">📎</span>
      <span className="name">{attachment.name}</span>
      <span className="muted">{size(attachment.size)}</span>
      <button
        type="button"
        className="link"
        aria-label={`Open ${attachment.name}`}
        data-testid="open-file"
        onClick={() => void open()}
      >
        Open
      </button>
      <button
        type="button"
        className="link"
        aria-label={`Save ${attachment.name}`}
        data-testid="save-file"
        onClick={() => void save()}
      >
        Save…
      </button>
      {note && (
        <span className="muted note" role="status" data-testid="file-note">
          {note}
        </span>
      )}
    </div>
  );
}

export function Attachments({ attachments }: { attachments: Attachment[] }) {
  if (attachments.length === 0) return null;
  return (
    <div className="attachments">
      {attachments.map((a) =>
        a.kind === 'image' ? (
          <ImageAttachment key={a.id} attachment={a} />
        ) : a.kind === 'voice' ? (
          <VoicePlayer key={a.id} attachment={a} />
        ) : (
          <FileAttachment key={a.id} attachment={a} />
        ),
      )}
    </div>
  );
}
