// Which links in a message may be links at all. The app's own `open_link` command checks again
// before handing the URL to the system.

const ALLOWED = new Set(['http:', 'https:', 'mailto:']);

/** `href` normalized when it is an absolute http(s) or mailto URL, else `null` (relative links,
 *  `javascript:`, `data:`, `vbscript:`, `file:` and every other scheme are never links). */
export function safeHref(href: string): string | null {
  let url: URL;
  try {
    url = new URL(href.trim());
  } catch {
    return null;
  }
  if (!ALLOWED.has(url.protocol)) return null;
  if (url.protocol !== 'mailto:' && !url.hostname) return null;
  return url.href;
}
