import { useEffect, useState } from 'react';
import { api, User } from '../api';
import { displayName } from './ChatView';

// Pictures already turned into data URLs, by user and picture version: a list of fifty members
// shows each picture once, and an unchanged picture is never asked for again.
const loaded = new Map<string, string | null>();

/** A user's picture, or their initial on a colour of their own while it loads or when none. */
export function Avatar({ user, size = 32 }: { user: User | undefined; size?: number }) {
  const key = user?.avatar ? `${user.id}:${user.avatar}` : null;
  const [src, setSrc] = useState<string | null>(key ? (loaded.get(key) ?? null) : null);

  useEffect(() => {
    if (!user || !key) {
      setSrc(null);
      return;
    }
    if (loaded.has(key)) {
      setSrc(loaded.get(key) ?? null);
      return;
    }
    let cancelled = false;
    api.avatarDataUrl(user).then(
      (url) => {
        loaded.set(key, url);
        if (!cancelled) setSrc(url);
      },
      () => {
        // Offline or gone: the initial stays.
      },
    );
    return () => {
      cancelled = true;
    };
    // The picture depends on who and which version only.
  }, [key]);

  const name = displayName(user);
  const style = { width: size, height: size, fontSize: Math.round(size * 0.45) };
  if (src) {
    return <img className="avatar-img" src={src} alt="" style={style} data-testid="avatar-img" />;
  }
  const hue = user ? (user.id * 47) % 360 : 0;
  return (
    <span
      className="avatar-initial"
      aria-hidden="true"
      style={{ ...style, background: `hsl(${hue} 55% 45%)` }}
    >
      {name.slice(0, 1).toUpperCase()}
    </span>
  );
}
