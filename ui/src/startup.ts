// Startup marks, for `scripts/footprint.sh --launches`: when the app's script began and when the
// first row of the cached timeline was drawn, in `performance.now()` milliseconds (with the page's
// `performance.timeOrigin`, the tool places them after the process start it reads from /proc). The
// launch breakdown in BENCHMARKS.md — process → page → script → timeline drawn — comes from these.
// Nothing else reads them; the observer stops at the first row, so a running app pays nothing.

export interface StartupMarks {
  /** The app's script began running. */
  script: number;
  /** The first cached timeline row was in the document and a frame had been drawn. */
  drawn?: number;
  /** Steps on the way, each when it first happened (see [`startupStep`]). */
  steps: Record<string, number>;
}

declare global {
  interface Window {
    __jecoStartup?: StartupMarks;
  }
}

const FIRST_ROW = '[data-testid=timeline] [data-testid=message-text]';

/** Records the script's start now, and the first timeline row's frame when it comes. */
export function markStartup(win: Window = window): StartupMarks {
  const marks: StartupMarks = { script: win.performance.now(), steps: {} };
  win.__jecoStartup = marks;
  const doc = win.document;
  const drawn = () => {
    // The frame after the row is in the document: the row has been laid out and painted.
    win.requestAnimationFrame(() => {
      marks.drawn = win.performance.now();
    });
  };
  if (doc.querySelector(FIRST_ROW)) {
    drawn();
    return marks;
  }
  const observer = new MutationObserver(() => {
    if (doc.querySelector(FIRST_ROW)) {
      observer.disconnect();
      drawn();
    }
  });
  observer.observe(doc.documentElement, { childList: true, subtree: true });
  return marks;
}

/** Notes that startup step `name` happened now, the first time only (later calls are free). */
export function startupStep(name: string, win: Window = window) {
  const marks = win.__jecoStartup;
  if (marks && marks.drawn === undefined && !(name in marks.steps)) {
    marks.steps[name] = win.performance.now();
  }
}
