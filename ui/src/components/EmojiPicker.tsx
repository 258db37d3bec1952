import { KeyboardEvent, useEffect, useRef, useState } from 'react';
import { EMOJI, emojiName, frequentEmoji, rememberEmoji, searchEmoji } from './emoji';

interface Props {
  /** What the dialog is for, for screen readers ("Add a reaction", "Insert an emoji"). */
  label: string;
  onPick: (emoji: string) => void;
  onClose: () => void;
}

/**
 * A small emoji picker: frequently used first, then all, with search by name. Keyboard: the
 * search field has focus; Enter picks the first match; arrows move between emoji; Esc closes.
 */
export function EmojiPicker({ label, onPick, onClose }: Props) {
  const [query, setQuery] = useState('');
  const root = useRef<HTMLDivElement>(null);
  const results = query.trim() ? searchEmoji(query, 80) : EMOJI;
  const frequent = query.trim() ? [] : frequentEmoji();

  useEffect(() => {
    function onDown(e: MouseEvent) {
      if (root.current && !root.current.contains(e.target as Node)) onClose();
    }
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [onClose]);

  function pick(emoji: string) {
    rememberEmoji(emoji);
    onPick(emoji);
  }

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose();
      return;
    }
    const target = e.target as HTMLElement;
    if (e.key === 'Enter' && target.tagName === 'INPUT') {
      e.preventDefault();
      const first = results[0];
      if (first) pick(first.emoji);
      return;
    }
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 8, ArrowUp: -8 };
    if (!(e.key in moves)) return;
    const buttons = Array.from(root.current?.querySelectorAll<HTMLButtonElement>('button.emoji') ?? []);
    if (buttons.length === 0) return;
    e.preventDefault();
    const at = buttons.indexOf(target as HTMLButtonElement);
    if (at < 0) {
      if (e.key === 'ArrowDown') buttons[0].focus();
      return;
    }
    const next = at + moves[e.key];
    if (next < 0) root.current?.querySelector<HTMLInputElement>('input')?.focus();
    else buttons[Math.min(next, buttons.length - 1)].focus();
  }

  const button = (emoji: string, name: string, key: string) => (
    <button
      key={key}
      type="button"
      className="emoji"
      title={`:${name}:`}
      aria-label={name.replace(/_/g, ' ')}
      onClick={() => pick(emoji)}
    >
      {emoji}
    </button>
  );

  return (
    <div
      className="emoji-picker"
      role="dialog"
      aria-label={label}
      data-testid="emoji-picker"
      ref={root}
      onKeyDown={onKeyDown}
    >
      <input
        type="search"
        aria-label="Search emoji"
        placeholder="Search emoji"
        value={query}
        autoFocus
        onChange={(e) => setQuery(e.target.value)}
      />
      {frequent.length > 0 && (
        <>
          <p className="emoji-section muted">Frequently used</p>
          <div className="emoji-grid" role="group" aria-label="Frequently used">
            {frequent.map((emoji) => button(emoji, emojiName(emoji), `f${emoji}`))}
          </div>
        </>
      )}
      {!query.trim() && <p className="emoji-section muted">All</p>}
      <div className="emoji-grid" role="group" aria-label={query.trim() ? 'Matching emoji' : 'All emoji'}>
        {results.map((e) => button(e.emoji, e.name, e.name))}
      </div>
      {results.length === 0 && <p className="muted">No emoji named “{query}”.</p>}
    </div>
  );
}
