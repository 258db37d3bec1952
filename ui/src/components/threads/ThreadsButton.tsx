import './threads.css';

interface Props {
  unread: number;
  open: boolean;
  onToggle: () => void;
}

/** The sidebar's way to the Threads view, with the replies not yet seen there. */
export function ThreadsButton({ unread, open, onToggle }: Props) {
  return (
    <button
      type="button"
      className={`conversation threads-button${open ? ' active' : ''}${unread > 0 ? ' unread' : ''}`}
      data-testid="open-threads"
      aria-pressed={open}
      aria-label={unread > 0 ? `Threads, ${unread} unread` : 'Threads'}
      onClick={onToggle}
    >
      <span className="lead" aria-hidden="true">
        <svg width="14" height="14" viewBox="0 0 16 16">
          <path
            d="M2.5 3.5h11v6h-6l-3 3v-3h-2z"
            fill="none"
            stroke="currentColor"
            strokeWidth="1.4"
            strokeLinejoin="round"
          />
        </svg>
      </span>
      <span className="label">Threads</span>
      {unread > 0 && (
        <span className="badge" data-testid="threads-unread">
          {unread}
        </span>
      )}
    </button>
  );
}
