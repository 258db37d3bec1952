// The conversations sidebar can be hidden to give a narrow window's width to the timeline (at
// 640 px the sidebar would take over a quarter of it). The choice is a view preference, not a
// secret, so it lives in localStorage like the theme; the quick switcher (Ctrl/Cmd+K) still
// reaches every conversation while the sidebar is hidden.

const KEY = 'jeco.sidebar';

/** Whether the sidebar was hidden the last time the app ran. */
export function savedSidebarHidden(): boolean {
  return typeof localStorage !== 'undefined' && localStorage.getItem(KEY) === 'hidden';
}

export function saveSidebarHidden(hidden: boolean) {
  if (typeof localStorage === 'undefined') return;
  if (hidden) localStorage.setItem(KEY, 'hidden');
  else localStorage.removeItem(KEY);
}

interface Props {
  hidden: boolean;
  onToggle: () => void;
}

/** The top bar's button that hides and shows the conversations sidebar. */
export function SidebarToggle({ hidden, onToggle }: Props) {
  const label = hidden ? 'Show conversations' : 'Hide conversations';
  return (
    <button
      type="button"
      className="icon-button sidebar-toggle"
      data-testid="sidebar-toggle"
      aria-label={label}
      aria-expanded={!hidden}
      aria-controls="conversations-sidebar"
      title={`${label} (Ctrl+Shift+D)`}
      onClick={onToggle}
    >
      <svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true">
        <rect x="2" y="3" width="14" height="12" rx="2" fill="none" stroke="currentColor" strokeWidth="1.5" />
        <path d="M7 3v12" stroke="currentColor" strokeWidth="1.5" />
      </svg>
    </button>
  );
}
