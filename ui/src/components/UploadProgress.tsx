/** Files of one queued message going up, as the engine reports them. */
export interface Upload {
  outboxId: number;
  conversationId: number;
  /** Which file of the message (0-based). */
  file: number;
  sent: number;
  total: number;
}

function size(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Progress bars for the uploads of the open conversation (they resume by themselves after a
 * disconnect, so there is nothing to press). */
export function UploadProgress({ uploads }: { uploads: Upload[] }) {
  if (uploads.length === 0) return null;
  return (
    <div className="uploads" aria-label="Uploads" role="region">
      {uploads.map((u) => {
        const percent = u.total > 0 ? Math.min(100, Math.round((u.sent / u.total) * 100)) : 0;
        return (
          <div key={u.outboxId} className="upload" data-testid="upload-progress">
            <span>
              Sending file {u.file + 1}: {size(u.sent)} of {size(u.total)}
            </span>
            <progress max={100} value={percent} aria-label={`Upload ${percent}%`} />
          </div>
        );
      })}
    </div>
  );
}
