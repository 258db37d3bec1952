import type { TimelineItem, User } from '../api';
import { displayName } from './ChatView';
import { Attachments } from './Attachments';
import { time } from './timelineFormat';

const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉'];

export interface MessageActions {
  react: (item: TimelineItem, emoji: string, add: boolean) => void;
  edit: (item: TimelineItem) => void;
  remove: (item: TimelineItem) => void;
  retry: (outboxId: number) => void;
  discard: (outboxId: number) => void;
}

interface Props {
  item: TimelineItem;
  me: number;
  users: Map<number, User>;
  /** Same sender as the message above, same day: no name and time line. */
  grouped: boolean;
  actions: MessageActions;
}

/** One message of a timeline: sender and time, text, files, reactions, state, hover actions. */
export function MessageItem({ item, me, users, grouped, actions }: Props) {
  const m = item.message;
  const mine = m.sender_id === me;
  const state = item.state;
  return (
    <article
      className={`message${grouped ? ' grouped' : ''}${state.state !== 'synced' ? ` ${state.state}` : ''}`}
      data-testid="message"
      data-state={state.state}
    >
      {!grouped && (
        <header>
          <strong>{displayName(users.get(m.sender_id))}</strong>
          <time dateTime={m.created_at}>{time(m.created_at)}</time>
        </header>
      )}
      {m.deleted ? (
        <p className="text deleted">This message was deleted.</p>
      ) : (
        <p className="text" data-testid="message-text">
          {m.text}
          {m.edited_at && <span className="muted edited"> (edited)</span>}
        </p>
      )}
      {!m.deleted && <Attachments attachments={m.attachments} />}
      {m.reactions.length > 0 && (
        <div className="reactions">
          {m.reactions.map((r) => {
            const reacted = r.user_ids.includes(me);
            return (
              <button
                key={r.emoji}
                type="button"
                className={`reaction${reacted ? ' mine' : ''}`}
                aria-pressed={reacted}
                onClick={() => actions.react(item, r.emoji, !reacted)}
              >
                {r.emoji} {r.count}
              </button>
            );
          })}
        </div>
      )}
      {state.state === 'pending' && (
        <p className="muted status" data-testid="pending">
          Sending…
        </p>
      )}
      {state.state === 'failed' && (
        <p className="status failed" role="alert" data-testid="failed">
          Not sent: {state.message}{' '}
          <button type="button" className="link" onClick={() => actions.retry(state.outbox_id)}>
            Retry
          </button>{' '}
          <button type="button" className="link" onClick={() => actions.discard(state.outbox_id)}>
            Discard
          </button>
        </p>
      )}
      {!m.deleted && (
        <div className="actions">
          {QUICK_REACTIONS.map((emoji) => (
            <button
              key={emoji}
              type="button"
              className="icon"
              aria-label={`React ${emoji}`}
              onClick={() => actions.react(item, emoji, true)}
            >
              {emoji}
            </button>
          ))}
          {mine && (
            <>
              <button type="button" className="icon" aria-label="Edit" onClick={() => actions.edit(item)}>
                ✎
              </button>
              <button type="button" className="icon" aria-label="Delete" onClick={() => actions.remove(item)}>
                🗑
              </button>
            </>
          )}
        </div>
      )}
    </article>
  );
}
