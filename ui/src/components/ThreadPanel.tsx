import { useCallback, useEffect, useState } from 'react';
import { api, Thread, toCommandError, User } from '../api';
import { Composer, Editing } from './Composer';
import { MessageItem, MessageActions } from './MessageItem';
import { keyOf, refOf } from './timelineFormat';
import './threads/threads.css';

interface Props {
  conversationId: number;
  root: number;
  me: number;
  users: Map<number, User>;
  members: User[];
  /** What the conversation is called ("#general"), for "Also send to #general". */
  where?: string;
  /** Bumped when the engine says the conversation changed: the thread is re-read (live). */
  version: number;
  /** The pane's actions (react, pin, delete, jump…); editing happens in this panel's composer. */
  actions: MessageActions;
  onUnknownUsers: (ids: number[]) => void;
  onClose: () => void;
}

/**
 * A thread beside the timeline: the root, its replies (oldest first, pending ones last) and a
 * composer whose messages reply to the root — kept in the thread, or also sent to the channel
 * when "Also send to …" is ticked (it stays ticked for the next reply until unticked). Read from the engine (cache first; the server fills
 * in an old thread when online) and re-read on every change, so replies appear live.
 */
export function ThreadPanel({
  conversationId,
  root,
  me,
  users,
  members,
  where = 'the conversation',
  version,
  actions,
  onUnknownUsers,
  onClose,
}: Props) {
  const [thread, setThread] = useState<Thread | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  // Off by default: a thread reply stays in the thread unless the sender asks for both.
  const [alsoToChannel, setAlsoToChannel] = useState(false);

  const load = useCallback(async () => {
    try {
      const t = await api.thread(conversationId, root);
      setThread(t);
      onUnknownUsers([
        ...(t.root ? [t.root.message.sender_id] : []),
        ...t.replies.map((r) => r.message.sender_id),
      ]);
    } catch (e) {
      setError(toCommandError(e).message);
    }
  }, [conversationId, root, onUnknownUsers]);

  useEffect(() => {
    void load();
  }, [load, version]);

  const threadActions: MessageActions = {
    ...actions,
    edit: (item) => setEditing({ target: refOf(item), text: item.message.text }),
  };

  const replies = thread?.replies ?? [];
  return (
    <aside className="side-panel thread-panel" data-testid="thread-panel" aria-label="Thread">
      <header className="side-panel-header">
        <h2>Thread</h2>
        <button type="button" className="icon" aria-label="Close thread" onClick={onClose}>
          ×
        </button>
      </header>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      <div className="side-panel-body">
        {thread === null ? (
          <p className="muted">Loading…</p>
        ) : thread.root === null ? (
          <p className="muted">This message is not available offline.</p>
        ) : (
          <>
            <div data-testid="thread-root">
              <MessageItem
                item={thread.root}
                me={me}
                users={users}
                grouped={false}
                actions={threadActions}
                inThread
              />
            </div>
            <p className="thread-count muted" role="separator">
              {replies.length === 1 ? '1 reply' : `${replies.length} replies`}
            </p>
            <ol className="thread-replies" aria-label="Replies">
              {replies.map((r) => (
                <li key={keyOf(r)}>
                  <MessageItem
                    item={r}
                    me={me}
                    users={users}
                    grouped={false}
                    actions={threadActions}
                    inThread
                  />
                </li>
              ))}
            </ol>
          </>
        )}
      </div>
      <label className="also-to-channel">
        <input
          type="checkbox"
          data-testid="also-to-channel"
          checked={alsoToChannel}
          onChange={(e) => setAlsoToChannel(e.target.checked)}
        />
        Also send to {where}
      </label>
      <Composer
        conversationId={conversationId}
        placeholder="Reply in thread…"
        members={members}
        users={users}
        editing={editing}
        onEditLast={() => {
          const mine = [...replies].reverse().find((i) => i.message.sender_id === me && !i.message.deleted);
          if (!mine) return false;
          setEditing({ target: refOf(mine), text: mine.message.text });
          return true;
        }}
        onCancelEdit={() => setEditing(null)}
        threadRoot={root}
        threadOnly={!alsoToChannel}
        onSent={() => void load()}
        onError={setError}
        testId="thread-composer"
        sendTestId="thread-send"
      />
    </aside>
  );
}
