import type { Message, User } from '../../api';
import { Avatar } from '../Avatar';
import { displayName } from '../ChatView';
import './threads.css';

interface Props {
  message: Message;
  users: Map<number, User>;
  onOpen: () => void;
}

/** "Ada and Bob", "Ada, Bob and Cy" — the repliers in words. */
export function namesInWords(names: string[]): string {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * Under a thread's root in the channel: the faces of the last repliers and "N replies". The
 * replies themselves may be in the thread only, so this line is how the channel learns that a
 * conversation went on there; a click opens it.
 */
export function RepliesLine({ message, users, onOpen }: Props) {
  const n = message.reply_count;
  const count = n === 1 ? '1 reply' : `${n} replies`;
  const repliers = message.last_repliers.map((id) => displayName(users.get(id)));
  return (
    <button
      type="button"
      className="replies-line"
      data-testid="thread-link"
      aria-label={`${count}${repliers.length ? ` from ${namesInWords(repliers)}` : ''}. Open the thread`}
      onClick={onOpen}
    >
      {message.last_repliers.length > 0 && (
        <span className="replies-faces" data-testid="repliers">
          {message.last_repliers.map((id) => (
            <Avatar key={id} user={users.get(id)} size={20} />
          ))}
        </span>
      )}
      <span className="replies-count">{count}</span>
      {repliers.length > 0 && <span className="replies-names muted">{repliers.join(', ')}</span>}
    </button>
  );
}
