import { KeyboardEvent, useMemo, useState } from 'react';
import type { Conversation, User } from '../api';
import { conversationLabel } from './ChatView';

interface Props {
  me: number;
  users: Map<number, User>;
  conversations: Conversation[];
  onPick: (id: number) => void;
  onClose: () => void;
}

/** Ctrl/Cmd+K: type part of a conversation's name, arrows to choose, Enter to open, Esc to close. */
export function QuickSwitcher({ me, users, conversations, onPick, onClose }: Props) {
  const [query, setQuery] = useState('');
  const [index, setIndex] = useState(0);
  const matches = useMemo(() => {
    const q = query.trim().toLowerCase().replace(/^[#@]/, '');
    return conversations
      .map((c) => ({ c, label: conversationLabel(c, me, users) }))
      .filter(({ label }) => label.toLowerCase().replace(/^[#@]/, '').includes(q))
      .slice(0, 8);
  }, [query, conversations, me, users]);

  function onKeyDown(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === 'Escape') onClose();
    else if (e.key === 'ArrowDown') {
      e.preventDefault();
      setIndex((i) => Math.min(i + 1, matches.length - 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setIndex((i) => Math.max(i - 1, 0));
    } else if (e.key === 'Enter' && matches[index]) {
      e.preventDefault();
      onPick(matches[index].c.id);
    }
  }

  return (
    <div className="switcher-backdrop" onClick={onClose}>
      <div
        className="switcher"
        role="dialog"
        aria-label="Jump to a conversation"
        data-testid="quick-switcher"
        onClick={(e) => e.stopPropagation()}
      >
        <input
          aria-label="Jump to a conversation"
          placeholder="Jump to…"
          autoFocus
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setIndex(0);
          }}
          onKeyDown={onKeyDown}
          role="combobox"
          aria-expanded="true"
          aria-controls="switcher-list"
          aria-activedescendant={matches[index] ? `switch-${matches[index].c.id}` : undefined}
        />
        <ul id="switcher-list" role="listbox">
          {matches.map(({ c, label }, i) => (
            <li
              key={c.id}
              id={`switch-${c.id}`}
              role="option"
              aria-selected={i === index}
              className={i === index ? 'active' : ''}
              onClick={() => onPick(c.id)}
            >
              {label}
              {c.unread_count > 0 && <span className="badge">{c.unread_count}</span>}
            </li>
          ))}
          {matches.length === 0 && <li className="muted">No conversation matches.</li>}
        </ul>
      </div>
    </div>
  );
}
