import { describe, expect, it } from 'vitest';
import { markStartup, startupStep } from './startup';

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)));

describe('startup marks', () => {
  it('records the script start at once and the first timeline row when it is drawn', async () => {
    document.body.innerHTML = '<div id="root"></div>';
    const marks = markStartup(window);
    expect(window.__jecoStartup).toBe(marks);
    expect(marks.script).toBeGreaterThanOrEqual(0);
    expect(marks.drawn).toBeUndefined();

    // A timeline without rows (still loading) is not the drawn timeline.
    document.getElementById('root')!.innerHTML = '<div data-testid="timeline"></div>';
    await Promise.resolve();
    await nextFrame();
    expect(marks.drawn).toBeUndefined();

    startupStep('conversations');
    const first = marks.steps.conversations;
    startupStep('conversations');
    expect(marks.steps.conversations).toBe(first);

    document.querySelector('[data-testid=timeline]')!.innerHTML =
      '<article><div data-testid="message-text">hello</div></article>';
    await Promise.resolve();
    await nextFrame();
    await nextFrame();
    expect(marks.drawn).toBeGreaterThanOrEqual(marks.script);
    // Steps after the timeline was drawn are not startup.
    startupStep('later');
    expect('later' in marks.steps).toBe(false);
  });
});
