import { FormEvent, useRef, useState } from 'react';
import { api, toCommandError, User } from '../api';
import { Avatar } from './Avatar';
import { Dialog } from './Dialog';
import { base64Of } from '../files';

const NAME_MAX = 64;
const STATUS_MAX = 100;
const BIO_MAX = 500;
const PICTURE_MAX = 10 * 1024 * 1024;

interface Props {
  user: User;
  onClose: () => void;
  onSaved: (user: User) => void;
}

/** The user's own profile: picture, display name, status line and bio. */
export function ProfileDialog({ user, onClose, onSaved }: Props) {
  const [displayName, setDisplayName] = useState(user.display_name ?? '');
  const [status, setStatus] = useState(user.status_text ?? '');
  const [bio, setBio] = useState(user.bio ?? '');
  const [current, setCurrent] = useState(user);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

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
      const saved = await api.updateProfile({
        display_name: displayName.trim() || null,
        status_text: status.trim() || null,
        bio: bio.trim() || null,
      });
      setCurrent(saved);
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
      setError('A picture may be at most 10 MiB.');
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
          value={displayName}
          maxLength={NAME_MAX}
          placeholder={user.username}
          onChange={(e) => setDisplayName(e.target.value)}
        />
        <label htmlFor="profile-status">Status</label>
        <input
          id="profile-status"
          value={status}
          maxLength={STATUS_MAX}
          placeholder="In a meeting, on holiday…"
          onChange={(e) => setStatus(e.target.value)}
        />
        <label htmlFor="profile-bio">About you</label>
        <textarea
          id="profile-bio"
          value={bio}
          maxLength={BIO_MAX}
          rows={3}
          onChange={(e) => setBio(e.target.value)}
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
    </Dialog>
  );
}
