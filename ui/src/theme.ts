// Light, dark, or whatever the system says (seed 002 step 28). The choice is a display preference,
// not a secret, so it lives in localStorage; the palette is CSS variables switched by
// `data-theme` on <html> (styles.css).
export type Theme = 'system' | 'light' | 'dark';

const KEY = 'jeco.theme';

export function savedTheme(): Theme {
  const value = typeof localStorage !== 'undefined' ? localStorage.getItem(KEY) : null;
  return value === 'light' || value === 'dark' ? value : 'system';
}

export function applyTheme(theme: Theme): void {
  const dark =
    theme === 'dark' ||
    (theme === 'system' &&
      typeof window.matchMedia === 'function' &&
      window.matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  try {
    if (theme === 'system') localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, theme);
  } catch {
    // Storage may be unavailable (private mode); the choice then lasts for this run.
  }
}
