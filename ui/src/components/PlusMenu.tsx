import { useEffect, useId, useRef, useState } from 'react';
import './directory.css';

export interface MenuItem {
  label: string;
  onSelect: () => void;
  testId?: string;
}

interface Props {
  /** What the button does, for screen readers and the tooltip ("New conversation or team"). */
  label: string;
  items: MenuItem[];
  testId?: string;
}

/**
 * A "+" button that opens a short menu of ways to start something. It follows the WAI-ARIA menu
 * button pattern: the button says it has a menu and whether it is open; opening moves focus to
 * the first item; arrow keys, Home and End move between items; Esc closes and gives focus back
 * to the button; Tab, a click outside or choosing an item closes it.
 */
export function PlusMenu({ label, items, testId }: Props) {
  const [open, setOpen] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const menuId = useId();

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLElement>('[role=menuitem]')?.focus();
    const outside = (e: MouseEvent) => {
      const target = e.target as Node;
      if (!menu.current?.contains(target) && !button.current?.contains(target)) setOpen(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);

  function onKeyDown(e: React.KeyboardEvent) {
    const entries = [...(menu.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? [])];
    const at = entries.indexOf(document.activeElement as HTMLElement);
    const focus = (i: number) => entries[(i + entries.length) % entries.length]?.focus();
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        focus(at + 1);
        break;
      case 'ArrowUp':
        e.preventDefault();
        focus(at - 1);
        break;
      case 'Home':
        e.preventDefault();
        focus(0);
        break;
      case 'End':
        e.preventDefault();
        focus(entries.length - 1);
        break;
      case 'Escape':
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
        button.current?.focus();
        break;
      case 'Tab':
        setOpen(false);
        break;
    }
  }

  return (
    <div className="plus-menu">
      <button
        ref={button}
        type="button"
        className="icon-button plus-button"
        aria-label={label}
        title={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        data-testid={testId}
        onClick={() => setOpen((o) => !o)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && !open) {
            e.preventDefault();
            setOpen(true);
          }
        }}
      >
        <PlusIcon />
      </button>
      {open && (
        <ul ref={menu} id={menuId} role="menu" aria-label={label} className="menu" onKeyDown={onKeyDown}>
          {items.map((item) => (
            <li key={item.label} role="none">
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                data-testid={item.testId}
                onClick={() => {
                  setOpen(false);
                  // The dialog an item opens gives focus back to whatever had it: the "+" button.
                  button.current?.focus();
                  item.onSelect();
                }}
              >
                {item.label}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The "+" drawn (not a font glyph, so it is centred and crisp at any size). */
export function PlusIcon() {
  return (
    <svg width="14" height="14" viewBox="0 0 16 16" aria-hidden="true">
      <path d="M8 2v12M2 8h12" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
    </svg>
  );
}
