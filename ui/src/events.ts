// One Tauri listener per event name, shared by all of the view's subscribers to it.
//
// Each Tauri `listen` leaves something behind in the web view for good: the app evaluates a
// script that files the listener (`{ target, handlerId }`) under the event's id in a window-wide
// table, and `unlisten` unregisters its callback but never deletes that entry (tauri 2.12,
// `listen_js_script` / `unlisten_js_script`). A component that listens while mounted therefore
// left one entry per mount: the conversation pane (one per conversation switch) and each voice
// note row (one per time it scrolled into view). Counted in a heap snapshot of the running app
// (`scripts/footprint.sh --heap-snapshots`): +180 entries after 180 conversation switches.
// Subscribing here costs nothing in the web view's table; the Tauri listener is registered once
// while anyone subscribes and released when the last one goes.
import { listen, type EventCallback, type UnlistenFn } from '@tauri-apps/api/event';

type Listen = <T>(event: string, handler: EventCallback<T>) => Promise<UnlistenFn>;

/**
 * A subscribe function for `event`: each call adds a handler of its payloads and resolves, once
 * the Tauri listener is in place (events from then on reach the handler), to its unsubscribe.
 */
export function sharedListener<T>(
  event: string,
  listenTo: Listen = listen,
): (handler: (payload: T) => void) => Promise<UnlistenFn> {
  const handlers = new Set<(payload: T) => void>();
  // The registration in use; a released one that has not finished unlistening delivers nothing.
  let current: Promise<UnlistenFn> | null = null;

  const release = () => {
    const done = current;
    current = null;
    done?.then((stop) => stop()).catch(() => undefined);
  };

  return (handler) => {
    handlers.add(handler);
    if (current === null) {
      const registration: Promise<UnlistenFn> = listenTo<T>(event, (e) => {
        if (current !== registration) return;
        // A copy: a handler may unsubscribe (or subscribe another) while the event is handed out.
        for (const h of Array.from(handlers)) h(e.payload);
      });
      current = registration;
      registration.catch(() => {
        if (current === registration) current = null;
      });
    }
    return current.then(
      () => () => {
        if (handlers.delete(handler) && handlers.size === 0) release();
      },
      (error: unknown) => {
        handlers.delete(handler);
        throw error;
      },
    );
  };
}
