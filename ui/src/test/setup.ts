import '@testing-library/jest-dom/vitest';
import { afterEach, vi } from 'vitest';
import { cleanup } from '@testing-library/react';
import { clearMocks } from '@tauri-apps/api/mocks';
import { createElement, forwardRef, useContext } from 'react';

// jsdom lays nothing out, so a virtualized list would measure a zero-height viewport and render
// no rows. The real Virtuoso runs in every test, told (through its own mock context) that the
// viewport is tall and rows are 40 px (unless the test says otherwise): every row of a test-sized
// timeline is rendered. The initial
// scroll position is dropped: everything fits, and Virtuoso keeps rows hidden until the scroll
// event that jsdom never fires.
vi.mock('react-virtuoso', async (importOriginal) => {
  const mod = await importOriginal<typeof import('react-virtuoso')>();
  const Virtuoso = forwardRef(function TestVirtuoso(props: { initialTopMostItemIndex?: unknown }, ref) {
    const { initialTopMostItemIndex: _initial, ...rest } = props;
    // A test may set its own sizes with an outer VirtuosoMockContext.Provider.
    const sizes = useContext(mod.VirtuosoMockContext) ?? { viewportHeight: 40_000, itemHeight: 40 };
    return createElement(
      mod.VirtuosoMockContext.Provider,
      { value: sizes },
      createElement(mod.Virtuoso as never, { ...rest, ref }),
    );
  });
  return { ...mod, Virtuoso };
});

// Nor does it scroll: Virtuoso keeps what is on screen in place after a prepend with scrollBy.
if (!Element.prototype.scrollBy) Element.prototype.scrollBy = () => undefined;
if (!Element.prototype.scrollTo) Element.prototype.scrollTo = () => undefined;

afterEach(() => {
  cleanup();
  clearMocks();
});
