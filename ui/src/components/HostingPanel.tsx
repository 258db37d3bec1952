import { useState } from 'react';
import { api, AppStatus, toCommandError } from '../api';

interface Props {
  status: AppStatus;
  onStatusChange: (status: AppStatus) => void;
}

/**
 * The built-in server's controls: host it for teammates on the local network (with the addresses
 * they can use, to copy), or keep it to this computer; stop and start it. Shown only while the app
 * uses the built-in server.
 */
export function HostingPanel({ status, onStatusChange }: Props) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const { embedded } = status;
  const running = embedded.state === 'running';
  const port = embedded.address ? new URL(embedded.address).port : '';

  async function run(action: () => Promise<AppStatus>) {
    setBusy(true);
    setError(null);
    try {
      onStatusChange(await action());
    } catch (e) {
      setError(toCommandError(e).message);
    } finally {
      setBusy(false);
    }
  }

  async function copy(address: string) {
    try {
      await navigator.clipboard.writeText(address);
      setCopied(address);
    } catch {
      setError('The clipboard is not available; select the address and copy it.');
    }
  }

  return (
    <section className="hosting" aria-label="Built-in server" data-testid="hosting">
      <div className="hosting-head">
        <span className={`dot ${running ? 'live' : 'offline'}`} aria-hidden="true" />
        <span data-testid="hosting-state">
          {!running
            ? embedded.state === 'failed'
              ? `Built-in server failed: ${embedded.error ?? 'unknown error'}`
              : 'Built-in server stopped'
            : embedded.hosting
              ? 'Hosting for your network'
              : 'Built-in server, on this computer only'}
        </span>
        <button
          type="button"
          className="secondary small"
          disabled={busy}
          data-testid="embedded-toggle"
          onClick={() => void run(() => api.setEmbeddedRunning(!running))}
        >
          {running ? 'Stop' : 'Start'}
        </button>
      </div>
      <label className="check">
        <input
          type="checkbox"
          role="switch"
          checked={embedded.hosting}
          disabled={busy || !running}
          data-testid="hosting-switch"
          onChange={(e) => void run(() => api.setHosting(e.target.checked))}
        />
        Let others on my network join
      </label>
      {embedded.hosting && running && (
        <div className="stack">
          <p className="muted small">
            Teammates enter one of these addresses on their sign-in screen. Anyone who can reach this computer
            can create an account, and it is reachable only while the app runs.
          </p>
          {embedded.lanAddresses.length === 0 ? (
            <p className="muted small" data-testid="lan-address">
              No network address found: look it up with <code>ip addr</code> or <code>ipconfig</code>; the
              port is {port}.
            </p>
          ) : (
            <ul className="invite-list">
              {embedded.lanAddresses.map((address) => (
                <li key={address}>
                  <code className="invite-code" data-testid="lan-address">
                    {address}
                  </code>
                  <button type="button" className="secondary small" onClick={() => void copy(address)}>
                    {copied === address ? 'Copied' : 'Copy'}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
