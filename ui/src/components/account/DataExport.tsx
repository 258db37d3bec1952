import { useState } from 'react';
import { api, CommandError, toCommandError } from '../../api';
import { describeAccountError, waitFor } from '../../errors';

/** What a failed export shows, decided by error code. */
function describe(error: CommandError): string {
  switch (error.code) {
    case 'conflict':
      return 'Your data is already being prepared. Wait for that download to finish.';
    case 'rate_limited':
      return `You can download your data a few times an hour. Try again in ${waitFor(error.retryAfterSecs ?? 3600)}.`;
    default:
      return describeAccountError(error).banner ?? error.message;
  }
}

/**
 * "Download my data": everything this account wrote — profile, messages, files — as one zip,
 * saved where the person chooses (the app asks with a Save-as dialog, as for attachments). Other
 * people's messages are not in it.
 */
export function DataExport() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  async function download() {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      const path = await api.exportMyData();
      if (path) setSaved(path);
    } catch (e) {
      setError(describe(toCommandError(e)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="stack" data-testid="data-export">
      <p className="muted small">
        A zip of your profile, every message you wrote and the files you sent. Other people’s messages are not
        included.
      </p>
      <div className="row">
        <button
          type="button"
          className="secondary"
          data-testid="export-my-data"
          disabled={busy}
          onClick={() => void download()}
        >
          {busy ? 'Preparing your data…' : 'Download my data'}
        </button>
      </div>
      {error && (
        <p className="field-error" role="alert" data-testid="export-error">
          {error}
        </p>
      )}
      {saved && (
        <p className="muted small" role="status" data-testid="export-saved">
          Saved to {saved}
        </p>
      )}
    </div>
  );
}
