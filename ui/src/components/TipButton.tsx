import {
  ButtonHTMLAttributes,
  forwardRef,
  MouseEvent,
  useCallback,
  useEffect,
  useId,
  useImperativeHandle,
  useRef,
  useState,
} from 'react';
import { createPortal } from 'react-dom';
import './tooltip.css';

/** How long the pointer rests on a button before its tooltip shows (as native ones do). */
export const TIP_DELAY_MS = 500;

interface Props extends ButtonHTMLAttributes<HTMLButtonElement> {
  /** The tooltip's text. Also the button's accessible name unless `aria-label` says otherwise. */
  tip: string;
  /** `on-dark`: for buttons on a dark surface whatever the theme (the image viewer). */
  tipTone?: 'on-dark';
}

/**
 * A button with a tooltip of our own instead of the native `title`.
 *
 * Native tooltips in the desktop web view are separate windows of the toolkit: they stayed up
 * after a click and floated over a dialog that click had just opened, until the pointer moved.
 * This one shows after the pointer rests on the button (or when it gets keyboard focus), and
 * hides when the button is pressed, when the pointer leaves, on Escape, and as soon as focus goes
 * anywhere else — which is what opening a dialog does. After a press it stays hidden until the
 * pointer leaves and comes back.
 */
export const TipButton = forwardRef<HTMLButtonElement, Props>(function TipButton(
  {
    tip,
    tipTone,
    children,
    onClick,
    onPointerEnter,
    onPointerLeave,
    onPointerDown,
    onFocus,
    onBlur,
    onKeyDown,
    ...rest
  },
  ref,
) {
  const id = useId();
  const button = useRef<HTMLButtonElement>(null);
  useImperativeHandle(ref, () => button.current as HTMLButtonElement);
  const [shown, setShown] = useState<{ top: number; left: number } | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  // Pressed while hovered: no tooltip again until the pointer has left.
  const pressed = useRef(false);

  const cancel = useCallback(() => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
  }, []);
  const hide = useCallback(() => {
    cancel();
    setShown(null);
  }, [cancel]);
  const show = useCallback(() => {
    const el = button.current;
    if (!el || pressed.current) return;
    // Never over a modal dialog this button is not part of.
    const modal = document.querySelector('[aria-modal="true"]');
    if (modal && !modal.contains(el)) return;
    const r = el.getBoundingClientRect();
    setShown({ top: r.bottom + 6, left: r.left + r.width / 2 });
  }, []);

  useEffect(() => cancel, [cancel]);

  // While shown: focus moving anywhere else (a dialog opening, a click elsewhere) hides it.
  useEffect(() => {
    if (!shown) return;
    const onFocusIn = (e: FocusEvent) => {
      if (e.target !== button.current) hide();
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') hide();
    };
    document.addEventListener('focusin', onFocusIn);
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('focusin', onFocusIn);
      document.removeEventListener('keydown', onKey, true);
    };
  }, [shown, hide]);

  const describedBy = tip !== rest['aria-label'] ? id : undefined;

  return (
    <>
      <button
        type="button"
        aria-label={tip}
        {...rest}
        ref={button}
        aria-describedby={shown && describedBy ? describedBy : rest['aria-describedby']}
        onPointerEnter={(e) => {
          onPointerEnter?.(e);
          cancel();
          timer.current = setTimeout(show, TIP_DELAY_MS);
        }}
        onPointerLeave={(e) => {
          onPointerLeave?.(e);
          pressed.current = false;
          hide();
        }}
        onPointerDown={(e) => {
          onPointerDown?.(e);
          pressed.current = true;
          hide();
        }}
        onFocus={(e) => {
          onFocus?.(e);
          if (focusVisible(e.currentTarget)) show();
        }}
        onBlur={(e) => {
          onBlur?.(e);
          hide();
        }}
        onKeyDown={(e) => {
          onKeyDown?.(e);
          if (e.key === 'Escape') hide();
        }}
        onClick={(e: MouseEvent<HTMLButtonElement>) => {
          // Enter or Space press the button too: the tooltip goes either way.
          pressed.current = true;
          hide();
          onClick?.(e);
        }}
      >
        {children}
      </button>
      {shown &&
        createPortal(
          <span
            role="tooltip"
            id={id}
            className={tipTone ? `tip ${tipTone}` : 'tip'}
            data-testid="tooltip"
            style={{ top: shown.top, left: shown.left }}
          >
            {tip}
          </span>,
          document.body,
        )}
    </>
  );
});

/** Whether the element's focus came from the keyboard (the browser's own judgement). */
function focusVisible(el: HTMLElement): boolean {
  try {
    return el.matches(':focus-visible');
  } catch {
    return false;
  }
}
