import { useEffect, useMemo, useRef, useState } from 'react';
import { api, Attachment, TimelineItem, toCommandError } from '../api';
import { TipButton } from './TipButton';
import './imageViewer.css';

/** Zoom levels (1 = the image's own pixels); "fit" shows it whole in the window. */
export const ZOOM_STEPS = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4];

type Zoom = 'fit' | number;

/** The event an image in the timeline sends when clicked (its detail: the attachment). */
const OPEN_IMAGE = 'jeco-open-image';

/**
 * Asks the open conversation's gallery to show `attachment`. Returns false when no gallery took
 * it (an image outside a conversation), so the caller shows it alone.
 */
export function openInGallery(attachment: Attachment): boolean {
  const event = new CustomEvent<Attachment>(OPEN_IMAGE, { detail: attachment, cancelable: true });
  document.dispatchEvent(event);
  return event.defaultPrevented;
}

/** Every image attachment of the loaded messages, oldest first. */
export function imagesOf(items: TimelineItem[]): Attachment[] {
  return items.flatMap((i) =>
    i.message.deleted ? [] : i.message.attachments.filter((a) => a.kind === 'image'),
  );
}

/**
 * The images of a conversation, for the viewer: a click on any of them (an `openInGallery`
 * event, so the timeline, the thread panel and this viewer stay apart) opens it here, and
 * previous/next walk through the other images loaded in the conversation. An image not among
 * them (a thread reply kept out of the channel) opens on its own.
 */
export function ImageGallery({ items }: { items: TimelineItem[] }) {
  const images = useMemo(() => imagesOf(items), [items]);
  const [current, setCurrent] = useState<Attachment | null>(null);
  useEffect(() => {
    const onOpen = (e: Event) => {
      e.preventDefault();
      setCurrent((e as CustomEvent<Attachment>).detail);
    };
    document.addEventListener(OPEN_IMAGE, onOpen);
    return () => document.removeEventListener(OPEN_IMAGE, onOpen);
  }, []);
  if (!current) return null;
  const list = images.some((a) => a.id === current.id) ? images : [current];
  return <ImageViewer images={list} current={current} onShow={setCurrent} onClose={() => setCurrent(null)} />;
}

interface ViewerProps {
  images: Attachment[];
  current: Attachment;
  onShow: (attachment: Attachment) => void;
  onClose: () => void;
}

/**
 * The image viewer: one image over the whole window, fitted to it or zoomed (−, +, 0 for fit,
 * Ctrl + wheel), ←/→ (or the side buttons) for the previous and next image of the conversation,
 * Save (a Save-as dialog), Copy (as a picture) and Esc or × to close. A modal dialog: focus
 * moves in, stays in while Tab cycles, and goes back to the image that opened it.
 */
export function ImageViewer({ images, current, onShow, onClose }: ViewerProps) {
  const index = Math.max(
    0,
    images.findIndex((a) => a.id === current.id),
  );
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const [zoom, setZoom] = useState<Zoom>('fit');
  const [note, setNote] = useState<string | null>(null);
  const dialog = useRef<HTMLDivElement>(null);
  const stage = useRef<HTMLDivElement>(null);
  const onCloseRef = useRef(onClose);
  onCloseRef.current = onClose;

  // The full image (the thumbnail when the image is too large to show whole).
  useEffect(() => {
    let cancelled = false;
    setSrc(null);
    setFailed(null);
    setZoom('fit');
    setNote(null);
    api.attachmentDataUrl(current, false).then(
      (url) => !cancelled && setSrc(url),
      (e) => {
        if (cancelled) return;
        if (current.has_thumbnail) {
          api.attachmentDataUrl(current, true).then(
            (url) => !cancelled && setSrc(url),
            () => !cancelled && setFailed(toCommandError(e).message),
          );
        } else setFailed(toCommandError(e).message);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [current.id]);

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    dialog.current?.focus();
    return () => before?.focus?.();
  }, []);

  const width = current.width ?? 0;
  const height = current.height ?? 0;
  /** The scale "fit" amounts to in this window (never above the image's own size). */
  function fitScale(): number {
    const box = stage.current;
    if (!box || !width || !height || !box.clientWidth || !box.clientHeight) return 1;
    return Math.min(1, box.clientWidth / width, box.clientHeight / height);
  }
  function zoomBy(direction: 1 | -1) {
    const now = zoom === 'fit' ? fitScale() : zoom;
    const next =
      direction > 0
        ? ZOOM_STEPS.find((s) => s > now + 1e-6)
        : [...ZOOM_STEPS].reverse().find((s) => s < now - 1e-6);
    if (next !== undefined) setZoom(next);
  }
  const previous = index > 0 ? images[index - 1] : null;
  const next = index < images.length - 1 ? images[index + 1] : null;

  async function save() {
    setNote('Saving…');
    try {
      const where = await api.saveAttachment(current);
      setNote(where ? `Saved to ${where}` : null);
    } catch (e) {
      setNote(toCommandError(e).message);
    }
  }

  async function copy() {
    try {
      await copyImage(current, src);
      setNote('Copied to the clipboard');
    } catch (e) {
      setNote(toCommandError(e).message);
    }
  }

  // The viewer's keys work wherever the focus is while it is open (it is modal): a side button
  // that was just clicked becomes disabled at the last image, and the focus leaves with it.
  const shortcuts = useRef<(e: KeyboardEvent) => boolean>(() => false);
  shortcuts.current = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const act: Record<string, (() => void) | undefined> = {
      Escape: () => onCloseRef.current(),
      ArrowLeft: previous ? () => onShow(previous) : undefined,
      ArrowRight: next ? () => onShow(next) : undefined,
      '+': () => zoomBy(1),
      '=': () => zoomBy(1),
      '-': () => zoomBy(-1),
      '0': () => setZoom('fit'),
    };
    const run = act[e.key];
    if (!run) return false;
    run();
    return true;
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Tab' || !shortcuts.current(e)) return;
      e.preventDefault();
      e.stopPropagation();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);

  // The focus never falls out of the dialog (onto the page under it).
  useEffect(() => {
    const focused = document.activeElement as HTMLButtonElement | null;
    if (!dialog.current?.contains(focused) || focused?.disabled) dialog.current?.focus();
  }, [current.id]);

  function onKeyDown(e: React.KeyboardEvent) {
    if (e.key === 'Tab' && dialog.current) trapTab(e, dialog.current);
  }

  const label = zoom === 'fit' ? 'Fit' : `${Math.round(zoom * 100)}%`;
  const imageStyle =
    zoom === 'fit' || !width || !height
      ? undefined
      : {
          width: Math.round(width * zoom),
          height: Math.round(height * zoom),
          maxWidth: 'none',
          maxHeight: 'none',
        };

  return (
    <div className="viewer-backdrop">
      <div
        ref={dialog}
        className="image-viewer"
        role="dialog"
        aria-modal="true"
        aria-label={`Image: ${current.name}`}
        data-testid="image-viewer"
        tabIndex={-1}
        onKeyDown={onKeyDown}
      >
        <header className="viewer-bar">
          <span className="viewer-name">{current.name}</span>
          <span className="viewer-position" data-testid="viewer-position">
            {images.length > 1 ? `${index + 1} of ${images.length}` : ''}
          </span>
          <div className="viewer-tools" role="toolbar" aria-label="Image">
            <TipButton
              tipTone="on-dark"
              className="viewer-button"
              tip="Zoom out (−)"
              aria-label="Zoom out"
              onClick={() => zoomBy(-1)}
            >
              −
            </TipButton>
            <output className="viewer-zoom" data-testid="viewer-zoom" aria-live="polite" aria-label="Zoom">
              {label}
            </output>
            <TipButton
              tipTone="on-dark"
              className="viewer-button"
              tip="Zoom in (+)"
              aria-label="Zoom in"
              onClick={() => zoomBy(1)}
            >
              +
            </TipButton>
            <TipButton
              tipTone="on-dark"
              className="viewer-button"
              tip="Fit to the window (0)"
              aria-label="Fit to the window"
              aria-pressed={zoom === 'fit'}
              onClick={() => setZoom('fit')}
            >
              ⤢
            </TipButton>
            <TipButton
              tipTone="on-dark"
              className="viewer-button"
              tip="Save as…"
              aria-label="Save"
              onClick={() => void save()}
            >
              Save
            </TipButton>
            <TipButton
              tipTone="on-dark"
              className="viewer-button"
              tip="Copy the image"
              aria-label="Copy"
              disabled={!src}
              onClick={() => void copy()}
            >
              Copy
            </TipButton>
            <TipButton
              tipTone="on-dark"
              className="viewer-button"
              tip="Close (Esc)"
              aria-label="Close"
              data-testid="viewer-close"
              onClick={() => onCloseRef.current()}
            >
              ×
            </TipButton>
          </div>
        </header>
        {note && (
          <p className="viewer-note" role="status" data-testid="viewer-note">
            {note}
          </p>
        )}
        <div
          className={`viewer-stage${zoom === 'fit' ? ' fit' : ''}`}
          ref={stage}
          onWheel={(e) => {
            if (!e.ctrlKey) return;
            e.preventDefault();
            zoomBy(e.deltaY < 0 ? 1 : -1);
          }}
          onMouseDown={(e) => {
            if (e.target === e.currentTarget) onCloseRef.current();
          }}
        >
          {failed ? (
            <p className="viewer-failed" role="alert">
              {failed}
            </p>
          ) : src ? (
            <img src={src} alt={current.name} data-testid="viewer-image" style={imageStyle} />
          ) : (
            <p className="viewer-loading" aria-busy="true">
              Loading…
            </p>
          )}
        </div>
        <TipButton
          tipTone="on-dark"
          className="viewer-nav previous"
          tip="Previous image (←)"
          aria-label="Previous image"
          data-testid="viewer-prev"
          disabled={!previous}
          onClick={() => previous && onShow(previous)}
        >
          ‹
        </TipButton>
        <TipButton
          tipTone="on-dark"
          className="viewer-nav next"
          tip="Next image (→)"
          aria-label="Next image"
          data-testid="viewer-next"
          disabled={!next}
          onClick={() => next && onShow(next)}
        >
          ›
        </TipButton>
      </div>
    </div>
  );
}

/** Copies the image as a picture: by the app (GTK's clipboard on Linux), else by the web view. */
async function copyImage(attachment: Attachment, dataUrl: string | null) {
  try {
    await api.copyImage(attachment);
    return;
  } catch (e) {
    const error = toCommandError(e);
    if (error.code !== 'not_supported' || !dataUrl) throw error;
  }
  if (typeof ClipboardItem === 'undefined' || !navigator.clipboard?.write) {
    throw { code: 'not_supported', message: 'Images cannot be copied on this system.' };
  }
  const blob = await (await fetch(dataUrl)).blob();
  await navigator.clipboard.write([new ClipboardItem({ [blob.type]: blob })]);
}

const FOCUSABLE = 'button:not([disabled]), [href], [tabindex]:not([tabindex="-1"])';

/** Keeps Tab inside the dialog. */
function trapTab(e: React.KeyboardEvent, root: HTMLElement) {
  const items = [...root.querySelectorAll<HTMLElement>(FOCUSABLE)];
  if (items.length === 0) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (e.shiftKey && (document.activeElement === first || document.activeElement === root)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}
