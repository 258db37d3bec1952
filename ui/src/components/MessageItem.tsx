import { memo, useMemo, useRef, useState } from 'react';
import type { Message, TimelineItem, User } from '../api';
import { displayName } from './ChatView';
import { Attachments } from './Attachments';
import { TipButton } from './TipButton';
import { EmojiPicker } from './EmojiPicker';
import { emojiLabel } from './emoji';
import { time } from './timelineFormat';
import { MessageText } from './markdown/MessageText';
import { plainText } from './markdown/plainText';
import type { MentionOf } from './markdown/inline';
import { Avatar } from './Avatar';
import { useShowProfile } from './people/PeopleContext';
import { RepliesLine } from './threads/RepliesLine';
import './people/faces.css';

const QUICK_REACTIONS = ['👍', '❤️', '😂'];

/** What can be done to a message; the pane (or the thread panel) carries it out. */
export interface MessageActions {
  react: (item: TimelineItem, emoji: string, add: boolean) => void;
  edit: (item: TimelineItem) => void;
  remove: (item: TimelineItem) => void;
  retry: (outboxId: number) => void;
  discard: (outboxId: number) => void;
  /** Quote it above the composer and answer it. */
  reply: (item: TimelineItem) => void;
  /** Open its thread in the side panel. */
  openThread: (item: TimelineItem) => void;
  pin: (item: TimelineItem, pinned: boolean) => void;
  /** Show this message in the timeline (a quoted parent was clicked). */
  jumpTo: (message: Message) => void;
}

interface Props {
  item: TimelineItem;
  me: number;
  users: Map<number, User>;
  /** Same sender as the message above, same day: no name and time line. */
  grouped: boolean;
  actions: MessageActions;
  /** The message this one replies to, when known (`null`: not found). */
  parent?: Message | null;
  /** Who has read up to this message (and not further). */
  readers?: number[];
  highlighted?: boolean;
  /** Shown in the thread panel: no quote, "replies" link, Reply or thread action (its composer
   *  answers the thread). */
  inThread?: boolean;
}

function names(ids: number[], users: Map<number, User>): string {
  return ids.map((u) => displayName(users.get(u))).join(', ');
}

function initials(u: User | undefined): string {
  const name = displayName(u);
  const parts = name.split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

/** A message's text for a quote or a label: plain (Markdown markers stripped), one line, short. */
function snippet(text: string): string {
  const plain = plainText(text);
  return plain.length > 120 ? `${plain.slice(0, 120)}…` : plain;
}

/** Which `@name`s in a message are the mentions the server resolved: `me` for the reader (and
 *  for `@channel`/`@here` in someone else's message), `other` for the rest. */
export function mentionsOf(m: Message, me: number, users: Map<number, User>): MentionOf {
  const names = new Map<string, 'me' | 'other'>();
  for (const id of m.mentions.user_ids) {
    const u = users.get(id);
    if (u) names.set(u.username.toLowerCase(), id === me ? 'me' : 'other');
  }
  const everyone = m.sender_id === me ? 'other' : 'me';
  if (m.mentions.channel) for (const n of ['channel', 'everyone', 'all']) names.set(n, everyone);
  if (m.mentions.here) names.set('here', everyone);
  return (name) => names.get(name) ?? null;
}

/**
 * One message: the sender's face (only on the first of a group; the rest keep its column empty,
 * so their text lines up under the first), sender and time, the quoted parent of a reply, text,
 * files, reactions (chips that toggle yours, with who reacted), the replies line, pinned marker,
 * read receipts, state, and its actions (shown on hover and when it or one of its buttons has
 * keyboard focus). The face and the name open the sender's profile card.
 */
export const MessageItem = memo(function MessageItem({
  item,
  me,
  users,
  grouped,
  actions,
  parent,
  readers,
  highlighted,
  inThread,
}: Props) {
  const [picking, setPicking] = useState(false);
  const addReaction = useRef<HTMLButtonElement>(null);
  // Closing the picker gives focus back to its button (keyboard users stay on the message).
  const closePicker = () => {
    setPicking(false);
    addReaction.current?.focus();
  };
  const m = item.message;
  const mine = m.sender_id === me;
  const state = item.state;
  const synced = item.id.kind === 'sent';
  const sender = displayName(users.get(m.sender_id));
  const mentionOf = useMemo(() => mentionsOf(m, me, users), [m, me, users]);
  const showProfile = useShowProfile();
  return (
    <article
      className={`message${grouped ? ' grouped' : ''}${state.state !== 'synced' ? ` ${state.state}` : ''}${
        highlighted ? ' highlighted' : ''
      }${m.pinned ? ' pinned' : ''}`}
      data-testid="message"
      data-state={state.state}
      data-message-id={m.id || undefined}
      data-highlighted={highlighted ? 'true' : undefined}
      tabIndex={-1}
      aria-label={`${sender}, ${time(m.created_at)}: ${m.deleted ? 'deleted message' : snippet(m.text)}`}
    >
      {!grouped && <SenderFace user={users.get(m.sender_id)} name={sender} show={showProfile} />}
      {!grouped && (
        <header>
          {showProfile ? (
            <button
              type="button"
              className="sender-name"
              data-testid="sender-name"
              aria-label={`${sender}: show profile`}
              onClick={() => showProfile(m.sender_id)}
            >
              {sender}
            </button>
          ) : (
            <strong>{sender}</strong>
          )}
          <time dateTime={m.created_at}>{time(m.created_at)}</time>
          {m.pinned && (
            <span className="pinned-mark" data-testid="pinned-mark">
              📌 Pinned
            </span>
          )}
        </header>
      )}
      {grouped && m.pinned && (
        <span className="pinned-mark" data-testid="pinned-mark">
          📌 Pinned
        </span>
      )}
      {m.reply_to !== null && !inThread && !m.deleted && (
        <button
          type="button"
          className="reply-quote"
          data-testid="reply-quote"
          disabled={!parent}
          onClick={() => parent && actions.jumpTo(parent)}
          aria-label={
            parent
              ? `In reply to ${displayName(users.get(parent.sender_id))}: ${snippet(parent.text)}. Show it`
              : 'In reply to a message that is not available'
          }
        >
          {parent ? (
            <>
              <strong>{displayName(users.get(parent.sender_id))}</strong>{' '}
              <span>{parent.deleted ? 'This message was deleted.' : snippet(parent.text)}</span>
            </>
          ) : (
            <span className="muted">A message that is not available</span>
          )}
        </button>
      )}
      {m.deleted ? (
        <p className="text deleted">This message was deleted.</p>
      ) : (
        <div className="text" data-testid="message-text">
          <MessageText
            text={m.text}
            mentionOf={mentionOf}
            trailing={m.edited_at && <span className="muted edited"> (edited)</span>}
          />
        </div>
      )}
      {!m.deleted && <Attachments attachments={m.attachments} />}
      {m.reactions.length > 0 && (
        <div className="reactions" role="group" aria-label="Reactions">
          {m.reactions.map((r) => {
            const reacted = r.user_ids.includes(me);
            const who = names(r.user_ids, users);
            return (
              <button
                key={r.emoji}
                type="button"
                className={`reaction${reacted ? ' mine' : ''}`}
                data-testid="reaction"
                aria-pressed={reacted}
                title={`${who} reacted with ${emojiLabel(r.emoji)}`}
                aria-label={`${r.emoji} ${r.count}, from ${who}. ${reacted ? 'Remove yours' : 'Add yours'}`}
                onClick={() => actions.react(item, r.emoji, !reacted)}
              >
                {r.emoji} {r.count}
              </button>
            );
          })}
        </div>
      )}
      {!inThread && m.reply_count > 0 && synced && (
        <RepliesLine message={m} users={users} onOpen={() => actions.openThread(item)} />
      )}
      {state.state === 'pending' && (
        <p className="muted status" data-testid="pending">
          Sending…
        </p>
      )}
      {state.state === 'waiting' && (
        <p className="muted status" data-testid="waiting">
          Waiting: an earlier message in this conversation was not sent
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
      {readers && readers.length > 0 && (
        <div className="receipts" data-testid="receipts" aria-label={`Seen by ${names(readers, users)}`}>
          {readers.slice(0, 8).map((u) => (
            <span
              key={u}
              className="receipt"
              title={`Seen by ${displayName(users.get(u))}`}
              aria-hidden="true"
            >
              {initials(users.get(u))}
            </span>
          ))}
          {readers.length > 8 && <span className="receipt more">+{readers.length - 8}</span>}
        </div>
      )}
      {!m.deleted && (
        <div
          className={`actions${picking ? ' open' : ''}`}
          role="toolbar"
          aria-label={`Actions for ${sender}'s message`}
        >
          {QUICK_REACTIONS.map((emoji) => (
            <TipButton
              key={emoji}
              className="icon"
              aria-label={`React ${emoji}`}
              tip={`React with ${emojiLabel(emoji)}`}
              onClick={() => actions.react(item, emoji, true)}
            >
              {emoji}
            </TipButton>
          ))}
          <TipButton
            className="icon"
            ref={addReaction}
            aria-label="Add reaction"
            tip="Add reaction"
            aria-haspopup="dialog"
            aria-expanded={picking}
            onClick={() => setPicking((v) => !v)}
          >
            😊+
          </TipButton>
          {synced && !inThread && (
            <TipButton
              className="icon"
              aria-label="Reply"
              aria-keyshortcuts="R"
              tip="Reply"
              onClick={() => actions.reply(item)}
            >
              ↩
            </TipButton>
          )}
          {synced && !inThread && (
            <TipButton
              className="icon"
              aria-label="Reply in thread"
              aria-keyshortcuts="T"
              tip="Reply in thread"
              onClick={() => actions.openThread(item)}
            >
              🧵
            </TipButton>
          )}
          {synced && (
            <TipButton
              className="icon"
              aria-label={m.pinned ? 'Unpin' : 'Pin'}
              aria-keyshortcuts="P"
              tip={m.pinned ? 'Unpin' : 'Pin'}
              onClick={() => actions.pin(item, !m.pinned)}
            >
              📌
            </TipButton>
          )}
          {mine && (
            <>
              <TipButton
                className="icon"
                aria-label="Edit"
                aria-keyshortcuts="E"
                tip="Edit"
                onClick={() => actions.edit(item)}
              >
                ✎
              </TipButton>
              <span className="actions-separator" aria-hidden="true" />
              <TipButton
                className="icon"
                aria-label="Delete"
                aria-haspopup="dialog"
                tip="Delete…"
                onClick={() => actions.remove(item)}
              >
                🗑
              </TipButton>
            </>
          )}
          {picking && (
            <EmojiPicker
              label="Add a reaction"
              onPick={(emoji) => {
                closePicker();
                const existing = m.reactions.find((r) => r.emoji === emoji);
                actions.react(item, emoji, !existing?.user_ids.includes(me));
              }}
              onClose={closePicker}
            />
          )}
        </div>
      )}
    </article>
  );
});

/** The sender's picture in the message's left column; with a profile opener, a button to it (out
 *  of the Tab order: the name beside it is the keyboard's way to the same card). */
function SenderFace({
  user,
  name,
  show,
}: {
  user: User | undefined;
  name: string;
  show: ((id: number) => void) | null;
}) {
  if (!show || !user) {
    return (
      <span className="message-avatar" data-testid="message-avatar">
        <Avatar user={user} size={32} />
      </span>
    );
  }
  return (
    <button
      type="button"
      className="message-avatar"
      data-testid="message-avatar"
      aria-label={`Profile of ${name}`}
      tabIndex={-1}
      onClick={() => show(user.id)}
    >
      <Avatar user={user} size={32} />
    </button>
  );
}
