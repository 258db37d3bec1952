import { act, renderHook } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { useCoalesced } from './useCoalesced';

describe('useCoalesced', () => {
  it('folds calls made during a run into one more run, and settles each after a later run', async () => {
    let runs = 0;
    const gates: (() => void)[] = [];
    const { result } = renderHook(() =>
      useCoalesced(async () => {
        runs += 1;
        await new Promise<void>((resolve) => gates.push(resolve));
      }),
    );
    const settled: number[] = [];
    let first!: Promise<void>;
    act(() => {
      first = result.current().then(() => void settled.push(1));
    });
    const burst = Array.from({ length: 20 }, (_, i) => result.current().then(() => void settled.push(i + 2)));
    expect(runs).toBe(1);
    await act(async () => gates.shift()?.());
    await first;
    // The burst waits for the run that started after it, not the one it arrived during.
    expect(settled).toEqual([1]);
    expect(runs).toBe(2);
    await act(async () => gates.shift()?.());
    await Promise.all(burst);
    expect(runs).toBe(2);
    expect(settled).toHaveLength(21);
    // Quiet again: the next call runs at once.
    const later = result.current();
    expect(runs).toBe(3);
    await act(async () => gates.shift()?.());
    await later;
  });
});
