import { FormEvent, useEffect, useRef, useState } from 'react';
import { api, LIMITS, toCommandError, UpdateProfileRequest, User } from '../api';
import { Avatar } from './Avatar';
import { Dialog } from './Dialog';
import { base64Of } from '../files';
import { SecurityTab } from './account/SecurityTab';

const NAME_MAX = LIMITS.display_name_max;
const STATUS_MAX = LIMITS.status_text_max;
const BIO_MAX = LIMITS.bio_max;
const PICTURE_MAX = LIMITS.avatar_bytes_max;

interface Props {
  user: User;
  onClose: () => void;
  onSaved: (user: User) => void;
}

type Field = 'display_name' | 'status_text' | 'bio';
type Tab = 'profile' | 'security';
const TABS: { id: Tab; label: string }[] = [
  { id: 'profile', label: 'Profile' },
  { id: 'security', label: 'Security' },
];

/** What the form shows for a profile field (`null` is an empty box). */
function shown(user: User, field: Field): string {
  return user[field] ?? '';
}

/**
 * The user's own profile: picture, display name, status line and bio; and on its Security tab the
 * account's email address, password and signed-in devices. It opens on the profile the
 * server has now (the copy the app held could be from an older sign-in), and a save sends only
 * the fields the person changed, so nothing they did not touch is overwritten.
 */
export function ProfileDialog({ user, onClose, onSaved }: Props) {
  const [values, setValues] = useState<Record<Field, string>>({
    display_name: shown(user, 'display_name'),
    status_text: shown(user, 'status_text'),
    bio: shown(user, 'bio'),
  });
  const [edited, setEdited] = useState<Set<Field>>(new Set());
  const editedRef = useRef(edited);
  editedRef.current = edited;
  const [current, setCurrent] = useState(user);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [tab, setTab] = useState<Tab>('profile');

  // The server's current profile fills every field the person has not started editing.
  useEffect(() => {
    let live = true;
    api
      .myProfile()
      .then((fresh) => {
        if (!live) return;
        setCurrent(fresh);
        setValues((v) => {
          const next = { ...v };
          for (const f of ['display_name', 'status_text', 'bio'] as Field[])
            if (!editedRef.current.has(f)) next[f] = shown(fresh, f);
          return next;
        });
        if (fresh.display_name !== user.display_name || fresh.avatar !== user.avatar) onSaved(fresh);
      })
      .catch(() => {
        // Offline or signed out: the copy the app has is the best there is.
      });
    return () => {
      live = false;
    };
    // Once per opening.
  }, []);
  function edit(field: Field, value: string) {
    setValues((v) => ({ ...v, [field]: value }));
    setEdited((e) => new Set(e).add(field));
  }

  function explain(e: unknown) {
    const err = toCommandError(e);
    setError(
      err.code === 'server_unreachable'
        ? 'Changing your profile needs the server, which is not reachable now.'
        : err.message,
    );
  }

  async function save(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      const change: UpdateProfileRequest = {};
      for (const f of edited) {
        const value = values[f].trim() || null;
        if (value !== current[f]) change[f] = value;
      }
      if (Object.keys(change).length === 0) {
        setNote('Nothing to save.');
        return;
      }
      const saved = await api.updateProfile(change);
      setCurrent(saved);
      setEdited(new Set());
      onSaved(saved);
      setNote('Saved.');
    } catch (err) {
      explain(err);
    } finally {
      setBusy(false);
    }
  }

  async function pictureChosen(files: FileList | null) {
    const file = files?.[0];
    if (!file) return;
    if (file.size > PICTURE_MAX) {
      setError(`A picture may be at most ${Math.floor(PICTURE_MAX / (1024 * 1024))} MiB.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const saved = await api.setAvatarBytes(await base64Of(file));
      setCurrent(saved);
      onSaved(saved);
    } catch (err) {
      explain(err);
    } finally {
      setBusy(false);
      if (fileInput.current) fileInput.current.value = '';
    }
  }

  async function removePicture() {
    setBusy(true);
    setError(null);
    try {
      const saved = await api.removeAvatar();
      setCurrent(saved);
      onSaved(saved);
    } catch (err) {
      explain(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Your profile" onClose={onClose} testId="profile-dialog">
      <div className="segmented" role="tablist" aria-label="Profile">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            aria-selected={tab === t.id}
            className={tab === t.id ? 'active' : ''}
            data-testid={`profile-tab-${t.id}`}
            onClick={() => setTab(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {tab === 'security' && <SecurityTab />}
      {tab === 'profile' && (
        <>
          <div className="profile-picture">
            <Avatar user={current} size={72} />
            <div className="column">
              <label className="button secondary small" htmlFor="avatar-file">
                {current.avatar ? 'Change picture' : 'Add a picture'}
              </label>
              <input
                id="avatar-file"
                ref={fileInput}
                className="visually-hidden"
                type="file"
                accept="image/png,image/jpeg,image/gif,image/webp"
                data-testid="avatar-input"
                disabled={busy}
                onChange={(e) => void pictureChosen(e.target.files)}
              />
              {current.avatar && (
                <button type="button" className="link" onClick={removePicture} disabled={busy}>
                  Remove picture
                </button>
              )}
            </div>
          </div>
          <form onSubmit={save} className="stack" aria-busy={busy}>
            <label htmlFor="profile-name">Display name</label>
            <input
              id="profile-name"
              data-autofocus
              value={values.display_name}
              maxLength={NAME_MAX}
              placeholder={user.username}
              onChange={(e) => edit('display_name', e.target.value)}
            />
            <label htmlFor="profile-status">Status</label>
            <input
              id="profile-status"
              value={values.status_text}
              maxLength={STATUS_MAX}
              placeholder="In a meeting, on holiday…"
              onChange={(e) => edit('status_text', e.target.value)}
            />
            <label htmlFor="profile-bio">About you</label>
            <textarea
              id="profile-bio"
              value={values.bio}
              maxLength={BIO_MAX}
              rows={3}
              onChange={(e) => edit('bio', e.target.value)}
            />
            <p className="muted small">
              Signed in as <strong>@{user.username}</strong>
            </p>
            {error && (
              <p className="field-error" role="alert">
                {error}
              </p>
            )}
            {note && (
              <p className="muted" role="status">
                {note}
              </p>
            )}
            <div className="row end">
              <button type="button" className="secondary" onClick={onClose}>
                Close
              </button>
              <button type="submit" disabled={busy} data-testid="save-profile">
                {busy ? 'Saving…' : 'Save'}
              </button>
            </div>
          </form>
        </>
      )}
    </Dialog>
  );
}
