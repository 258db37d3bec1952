// The emoji the pickers and `:name` completion offer: a curated list (the common ones of chat
// apps, with their usual short names), kept in code so the app ships no large emoji database.
// Recently used ones are remembered locally and shown first.

export interface EmojiEntry {
  emoji: string;
  /** The short name, as typed after `:` (lowercase, underscores). */
  name: string;
  /** More words it is found by. */
  keywords?: string;
}

const LIST: [string, string, string?][] = [
  ['👍', 'thumbsup', '+1 yes like ok'],
  ['👎', 'thumbsdown', '-1 no dislike'],
  ['❤️', 'heart', 'love red'],
  ['😂', 'joy', 'laugh tears lol'],
  ['🎉', 'tada', 'party celebrate congrats'],
  ['🙏', 'pray', 'thanks please'],
  ['👀', 'eyes', 'look see'],
  ['🔥', 'fire', 'hot lit'],
  ['✅', 'white_check_mark', 'done check yes'],
  ['❌', 'x', 'no cross wrong'],
  ['😀', 'grinning', 'smile happy'],
  ['😃', 'smiley', 'smile happy'],
  ['😄', 'smile', 'happy'],
  ['😁', 'grin', 'happy teeth'],
  ['😆', 'laughing', 'lol haha'],
  ['😅', 'sweat_smile', 'phew relief'],
  ['🤣', 'rofl', 'rolling laugh'],
  ['🙂', 'slightly_smiling_face', 'smile'],
  ['🙃', 'upside_down_face', 'silly'],
  ['😉', 'wink', 'joke'],
  ['😊', 'blush', 'smile happy shy'],
  ['😇', 'innocent', 'angel halo'],
  ['🥰', 'smiling_face_with_hearts', 'love adore'],
  ['😍', 'heart_eyes', 'love crush'],
  ['🤩', 'star_struck', 'wow excited'],
  ['😘', 'kissing_heart', 'kiss love'],
  ['😋', 'yum', 'tasty delicious'],
  ['😛', 'stuck_out_tongue', 'tongue silly'],
  ['😜', 'stuck_out_tongue_winking_eye', 'silly joke'],
  ['🤪', 'zany_face', 'crazy silly'],
  ['🤔', 'thinking', 'hmm think'],
  ['🤨', 'raised_eyebrow', 'skeptical doubt'],
  ['😐', 'neutral_face', 'meh'],
  ['😑', 'expressionless', 'meh blank'],
  ['😶', 'no_mouth', 'silent speechless'],
  ['🙄', 'roll_eyes', 'whatever'],
  ['😏', 'smirk', 'sly'],
  ['😬', 'grimacing', 'awkward oops'],
  ['😌', 'relieved', 'calm'],
  ['😔', 'pensive', 'sad thoughtful'],
  ['😴', 'sleeping', 'tired zzz'],
  ['🤒', 'face_with_thermometer', 'sick ill'],
  ['🤯', 'exploding_head', 'mind blown wow'],
  ['🥳', 'partying_face', 'party celebrate birthday'],
  ['😎', 'sunglasses', 'cool'],
  ['🤓', 'nerd_face', 'geek'],
  ['😕', 'confused', 'unsure'],
  ['😟', 'worried', 'concern'],
  ['😮', 'open_mouth', 'wow surprise'],
  ['😲', 'astonished', 'shock surprise'],
  ['😳', 'flushed', 'embarrassed'],
  ['🥺', 'pleading_face', 'please puppy'],
  ['😢', 'cry', 'sad tear'],
  ['😭', 'sob', 'cry sad'],
  ['😱', 'scream', 'fear shock'],
  ['😤', 'triumph', 'huff proud'],
  ['😡', 'rage', 'angry mad'],
  ['😠', 'angry', 'mad'],
  ['🤬', 'cursing_face', 'swear angry'],
  ['💀', 'skull', 'dead lol'],
  ['💩', 'poop', 'poo'],
  ['🤡', 'clown_face', 'clown'],
  ['👻', 'ghost', 'boo'],
  ['🤖', 'robot', 'bot'],
  ['👋', 'wave', 'hello hi bye'],
  ['🤚', 'raised_back_of_hand', 'hand'],
  ['✋', 'raised_hand', 'stop high five'],
  ['👌', 'ok_hand', 'ok perfect'],
  ['🤌', 'pinched_fingers', 'italian'],
  ['✌️', 'v', 'peace victory'],
  ['🤞', 'crossed_fingers', 'luck hope'],
  ['🤟', 'love_you_gesture', 'love'],
  ['🤘', 'metal', 'rock'],
  ['🤙', 'call_me_hand', 'call shaka'],
  ['👈', 'point_left', 'left'],
  ['👉', 'point_right', 'right'],
  ['👆', 'point_up_2', 'up'],
  ['👇', 'point_down', 'down'],
  ['☝️', 'point_up', 'one'],
  ['👏', 'clap', 'applause bravo'],
  ['🙌', 'raised_hands', 'hooray celebrate'],
  ['👐', 'open_hands', 'hug'],
  ['🤝', 'handshake', 'deal agree'],
  ['💪', 'muscle', 'strong flex'],
  ['🫡', 'saluting_face', 'salute ok'],
  ['🧠', 'brain', 'smart'],
  ['💯', '100', 'hundred perfect score'],
  ['💥', 'boom', 'collision'],
  ['✨', 'sparkles', 'shiny new'],
  ['⭐', 'star', 'favourite'],
  ['🌟', 'star2', 'glow'],
  ['💡', 'bulb', 'idea'],
  ['⚡', 'zap', 'fast lightning'],
  ['💬', 'speech_balloon', 'comment chat'],
  ['💭', 'thought_balloon', 'think'],
  ['💤', 'zzz', 'sleep'],
  ['💔', 'broken_heart', 'sad'],
  ['🧡', 'orange_heart', 'love'],
  ['💛', 'yellow_heart', 'love'],
  ['💚', 'green_heart', 'love'],
  ['💙', 'blue_heart', 'love'],
  ['💜', 'purple_heart', 'love'],
  ['🖤', 'black_heart', 'love'],
  ['🤍', 'white_heart', 'love'],
  ['☕', 'coffee', 'cafe break'],
  ['🍺', 'beer', 'drink cheers'],
  ['🍻', 'beers', 'cheers drinks'],
  ['🥂', 'clinking_glasses', 'cheers toast'],
  ['🍕', 'pizza', 'food lunch'],
  ['🍔', 'hamburger', 'food burger'],
  ['🍰', 'cake', 'dessert'],
  ['🎂', 'birthday', 'cake party'],
  ['🍪', 'cookie', 'biscuit'],
  ['🍎', 'apple', 'fruit'],
  ['🌮', 'taco', 'food'],
  ['🎁', 'gift', 'present'],
  ['🎈', 'balloon', 'party'],
  ['🏆', 'trophy', 'win award'],
  ['🥇', 'first_place_medal', 'gold win'],
  ['🚀', 'rocket', 'launch ship fast'],
  ['✈️', 'airplane', 'travel flight'],
  ['🚗', 'car', 'drive'],
  ['🏠', 'house', 'home'],
  ['🌍', 'earth_africa', 'world globe'],
  ['☀️', 'sunny', 'sun weather'],
  ['🌧️', 'cloud_with_rain', 'rain weather'],
  ['❄️', 'snowflake', 'cold winter'],
  ['🌈', 'rainbow', 'pride'],
  ['🌱', 'seedling', 'plant grow'],
  ['🌸', 'cherry_blossom', 'flower spring'],
  ['🐶', 'dog', 'puppy pet'],
  ['🐱', 'cat', 'kitten pet'],
  ['🦄', 'unicorn', 'magic'],
  ['🐛', 'bug', 'insect defect'],
  ['🐢', 'turtle', 'slow'],
  ['📌', 'pushpin', 'pin'],
  ['📎', 'paperclip', 'attach'],
  ['📅', 'date', 'calendar'],
  ['📈', 'chart_with_upwards_trend', 'growth up'],
  ['📉', 'chart_with_downwards_trend', 'down'],
  ['📝', 'memo', 'note write'],
  ['📣', 'mega', 'announce'],
  ['🔔', 'bell', 'notification'],
  ['🔕', 'no_bell', 'mute'],
  ['🔒', 'lock', 'secure private'],
  ['🔑', 'key', 'password'],
  ['🔗', 'link', 'url'],
  ['🔍', 'mag', 'search find'],
  ['🛠️', 'hammer_and_wrench', 'tools fix'],
  ['⚙️', 'gear', 'settings'],
  ['💻', 'computer', 'laptop code'],
  ['📱', 'iphone', 'phone mobile'],
  ['🎧', 'headphones', 'music'],
  ['🎵', 'musical_note', 'music'],
  ['🎮', 'video_game', 'game play'],
  ['⚽', 'soccer', 'football sport'],
  ['⏰', 'alarm_clock', 'time'],
  ['⌛', 'hourglass', 'wait time'],
  ['⚠️', 'warning', 'caution'],
  ['🚫', 'no_entry_sign', 'forbidden'],
  ['❓', 'question', 'what'],
  ['❗', 'exclamation', 'important'],
  ['➕', 'heavy_plus_sign', 'plus add'],
  ['🆗', 'ok', 'okay'],
  ['🆕', 'new', 'fresh'],
  ['🟢', 'green_circle', 'online go'],
  ['🔴', 'red_circle', 'stop busy'],
];

export const EMOJI: EmojiEntry[] = LIST.map(([emoji, name, keywords]) => ({ emoji, name, keywords }));

/** Shown first before anything was used here. */
export const DEFAULT_FREQUENT = ['👍', '❤️', '😂', '🎉', '🙏', '👀', '🔥', '✅'];

const RECENT_KEY = 'jeco.emoji.recent';

/** The emoji used most recently here, newest first (at most 16). */
export function frequentEmoji(): string[] {
  try {
    const saved = JSON.parse(localStorage.getItem(RECENT_KEY) ?? '[]');
    if (Array.isArray(saved) && saved.every((e) => typeof e === 'string')) {
      return [...new Set([...saved, ...DEFAULT_FREQUENT])].slice(0, 16);
    }
  } catch {
    // A damaged entry is just forgotten.
  }
  return DEFAULT_FREQUENT;
}

export function rememberEmoji(emoji: string) {
  const next = [emoji, ...frequentEmoji().filter((e) => e !== emoji)].slice(0, 16);
  try {
    localStorage.setItem(RECENT_KEY, JSON.stringify(next));
  } catch {
    // Storage full or disabled: the list simply does not learn.
  }
}

/** Emoji whose name starts with (first) or contains the query, or whose keywords do. */
export function searchEmoji(query: string, limit = 48): EmojiEntry[] {
  const q = query.trim().toLowerCase().replace(/^:/, '');
  if (!q) return EMOJI.slice(0, limit);
  const starts = EMOJI.filter((e) => e.name.startsWith(q));
  const contains = EMOJI.filter(
    (e) =>
      !e.name.startsWith(q) &&
      (e.name.includes(q) || (e.keywords ?? '').split(' ').some((k) => k.startsWith(q))),
  );
  return [...starts, ...contains].slice(0, limit);
}

export function emojiName(emoji: string): string {
  return EMOJI.find((e) => e.emoji === emoji)?.name ?? emoji;
}

/** `:name:` for a known emoji, else the emoji itself (someone may react with any). */
export function emojiLabel(emoji: string): string {
  const known = EMOJI.find((e) => e.emoji === emoji);
  return known ? `:${known.name}:` : emoji;
}
