// Bringing one message into view and marking it for a moment: what clicking a notification ends
// with. The timeline renders each message with `data-message-id`; the conversation may still be
// loading when this starts, so it looks for the message for a while before giving up (the
// conversation is open anyway). The mark is an attribute React does not manage
// (`data-highlighted`), so a re-render of the message keeps it until it fades.

const LOOK_FOR_MS = 4000;
const HIGHLIGHT_MS = 2500;

/** Scrolls message `id` into view and highlights it briefly. Returns a cancel function. */
export function focusMessage(id: number): () => void {
  const started = Date.now();
  let timer: ReturnType<typeof setTimeout> | null = null;
  let marked: HTMLElement | null = null;
  let cancelled = false;

  function step() {
    if (cancelled) return;
    const el = document.querySelector<HTMLElement>(`[data-message-id="${id}"]`);
    if (el) {
      el.scrollIntoView?.({ block: 'center' });
      el.setAttribute('data-highlighted', 'true');
      marked = el;
      timer = setTimeout(() => {
        el.removeAttribute('data-highlighted');
        marked = null;
      }, HIGHLIGHT_MS);
      return;
    }
    if (Date.now() - started < LOOK_FOR_MS) timer = setTimeout(step, 50);
  }

  step();
  return () => {
    cancelled = true;
    if (timer) clearTimeout(timer);
    marked?.removeAttribute('data-highlighted');
  };
}
