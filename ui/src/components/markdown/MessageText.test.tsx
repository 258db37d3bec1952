import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { fakeApp } from '../../test/fakeApp';
import { MAX_NESTING, MessageText } from './MessageText';
import type { MentionOf } from './inline';
import { MARKDOWN_MAX_CHARS, MARKDOWN_MAX_DELIMITERS } from './parse';

function show(text: string, mentionOf?: MentionOf) {
  const { container } = render(
    <div className="text" data-testid="text">
      <MessageText text={text} mentionOf={mentionOf} />
    </div>,
  );
  return container.querySelector('[data-testid=text]') as HTMLElement;
}

/** Elements that must never come out of message text. */
const FORBIDDEN =
  'script, img, iframe, object, embed, style, svg, math, form, input, video, audio, link, meta';

describe('message Markdown', () => {
  it('renders bold, italic, strikethrough and inline code', () => {
    const el = show('**bold** *italic* _also_ ~~gone~~ `a < b`');
    expect(el.querySelector('strong')).toHaveTextContent('bold');
    expect([...el.querySelectorAll('em')].map((e) => e.textContent)).toEqual(['italic', 'also']);
    expect(el.querySelector('del')).toHaveTextContent('gone');
    expect(el.querySelector('code.md-code')).toHaveTextContent('a < b');
    expect(el).toHaveTextContent('bold italic also gone a < b');
  });

  it('keeps a plain message a plain run of text, with line breaks', () => {
    const el = show('hello there');
    expect(el.innerHTML).toBe('hello there');
    expect(show('one\ntwo').querySelectorAll('br')).toHaveLength(1);
  });

  it('renders quotes and bulleted and numbered lists', () => {
    const el = show('> quoted\n> still\n\n- one\n- two\n  - nested\n\n3. three\n4. four');
    const quote = el.querySelector('blockquote')!;
    expect(quote.textContent).toBe('quotedstill');
    expect(quote.querySelectorAll('br')).toHaveLength(1);
    const ul = el.querySelector('ul')!;
    expect([...ul.children].map((li) => li.tagName)).toEqual(['LI', 'LI']);
    expect(ul.querySelector(':scope ul li')).toHaveTextContent('nested');
    const ol = el.querySelector('ol')!;
    expect(ol.getAttribute('start')).toBe('3');
    expect(ol.querySelectorAll(':scope > li')).toHaveLength(2);
  });

  it('shows what is outside the subset as typed', () => {
    const el = show('# not a heading\n---\n    not code\n[ref]: https://example.com');
    expect(el.querySelector('h1, hr, pre')).toBeNull();
    expect(el).toHaveTextContent('# not a heading');
    expect(el).toHaveTextContent('---');
    expect(el).toHaveTextContent('[ref]:');
  });

  it('renders a fenced code block as is, then highlighted', async () => {
    const el = show('```rust\nfn main() { let s = "<b>"; }\n```');
    const pre = el.querySelector('pre.md-code-block')!;
    expect(pre).toHaveAttribute('data-lang', 'rust');
    expect(pre).toHaveTextContent('fn main() { let s = "<b>"; }');
    await waitFor(() => expect(pre.querySelector('.hljs-keyword')).toHaveTextContent('fn'));
    expect(pre.querySelector('.hljs-string')).toHaveTextContent('"<b>"');
    expect(pre.querySelector('b')).toBeNull();
    expect(pre).toHaveTextContent('fn main() { let s = "<b>"; }');
  });

  it('leaves a block in an unknown language unhighlighted', async () => {
    const el = show('```brainfuck\n++[>+<-]\n```');
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(el.querySelector('pre')).toHaveTextContent('++[>+<-]');
    expect(el.querySelector('pre span')).toBeNull();
  });

  it('turns bare URLs, www and Markdown links into links, and mail addresses into mailto', () => {
    const el = show(
      'see https://example.com/a_b, www.jeco.chat and [the docs](https://docs.example.com/x) or ann@example.com',
    );
    expect([...el.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['https://example.com/a_b', 'https://example.com/a_b'],
      ['www.jeco.chat', 'http://www.jeco.chat/'],
      ['the docs', 'https://docs.example.com/x'],
      ['ann@example.com', 'mailto:ann@example.com'],
    ]);
  });

  it('opens a clicked link with the open_link command and does not navigate', async () => {
    const calls = fakeApp({ open_link: () => null });
    const el = show('go to https://example.com/page now');
    const link = el.querySelector('a')!;
    const click = new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 });
    act(() => {
      link.dispatchEvent(click);
    });
    expect(click.defaultPrevented).toBe(true);
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'open_link')).toEqual([
        { cmd: 'open_link', args: { url: 'https://example.com/page' } },
      ]),
    );
    // The keyboard way (Enter on the focused link) goes the same way.
    link.focus();
    await userEvent.keyboard('{Enter}');
    await waitFor(() => expect(calls.filter((c) => c.cmd === 'open_link')).toHaveLength(2));
    // A middle click opens nothing, here or in a new web view.
    const middle = new MouseEvent('auxclick', { bubbles: true, cancelable: true, button: 1 });
    act(() => {
      link.dispatchEvent(middle);
    });
    expect(middle.defaultPrevented).toBe(true);
    expect(calls.filter((c) => c.cmd === 'open_link')).toHaveLength(2);
  });

  it('highlights mentions, the reader’s own more', () => {
    const mentionOf: MentionOf = (name) =>
      name === 'ada' || name === 'here' ? 'me' : name === 'bob' ? 'other' : null;
    const el = show('@bob and @Ada, @here; not @nobody or ann@bob.org', mentionOf);
    const mentions = [...el.querySelectorAll('.mention')].map((m) => [m.textContent, m.className]);
    expect(mentions).toEqual([
      ['@bob', 'mention'],
      ['@Ada', 'mention mention-me'],
      ['@here', 'mention mention-me'],
    ]);
    expect(el).toHaveTextContent('@bob and @Ada, @here; not @nobody or ann@bob.org');
  });

  it('does not look for mentions or emoji inside code', () => {
    const el = show('`@bob :smile:` :smile:', () => 'other');
    expect(el.querySelector('code')).toHaveTextContent('@bob :smile:');
    expect(el).toHaveTextContent('@bob :smile: 😄');
    expect(el.querySelectorAll('.mention')).toHaveLength(0);
  });

  it('replaces emoji shortcodes from the composer’s list, and leaves unknown ones', () => {
    expect(show('hi :smile: :tada: :+1: :not_an_emoji:')).toHaveTextContent('hi 😄 🎉 👍 :not_an_emoji:');
  });
});

describe('hostile message text', () => {
  it('shows HTML as text', () => {
    for (const text of [
      '<script>alert(1)</script>',
      '<img src=x onerror=alert(1)>',
      '<iframe src="https://evil.example"></iframe>',
      '**<svg onload=alert(1)>**',
      '<a href="javascript:alert(1)">x</a>',
      '<style>body{display:none}</style>\n\n<form><input></form>',
    ]) {
      const el = show(text);
      expect(el.querySelector(FORBIDDEN)).toBeNull();
      expect(el.querySelector('a')).toBeNull();
      expect(el.textContent).toContain(text.split('\n')[0].replace(/\*\*/g, ''));
    }
  });

  it('never makes a link of javascript:, data:, vbscript: or relative URLs', () => {
    for (const href of [
      'javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      ' javascript:alert(1)',
      'java\tscript:alert(1)',
      'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
      'vbscript:msgbox(1)',
      'file:///etc/passwd',
      'javascript://example.com/%0aalert(1)',
      'ftp://example.com/file',
      'tauri://localhost/',
      '/relative',
    ]) {
      const el = show(`[x](${href}) ![y](${href}) <${href}>`);
      expect(el.querySelector('a')).toBeNull();
      expect(el.querySelector(FORBIDDEN)).toBeNull();
      expect(el.textContent).toContain('[x]');
    }
  });

  it('renders 200 levels of nested quotes and lists flat beyond a depth, quickly', () => {
    const quotes = `${'> '.repeat(200)}deep`;
    const list = Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i)}- level ${i}`).join('\n');
    const started = performance.now();
    const q = show(quotes);
    const l = show(list);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(q).toHaveTextContent('deep');
    let depth = 0;
    for (let e: Element | null = q.querySelector('blockquote'); e; e = e.querySelector(':scope > blockquote'))
      depth++;
    expect(depth).toBe(MAX_NESTING);
    expect(l).toHaveTextContent('level 199');
    expect(l.querySelectorAll('ul').length).toBeLessThanOrEqual(MAX_NESTING);
  });

  it('renders a 4,000-character line, 100 KB of asterisks and other delimiter runs in bounded time', () => {
    const inputs = [
      'x'.repeat(4_000),
      '*'.repeat(100_000),
      '*'.repeat(MARKDOWN_MAX_CHARS),
      '**a'.repeat(MARKDOWN_MAX_CHARS / 3),
      // Just under the delimiter bound: parsed, the slowest kind for marked.
      '__a'.repeat(MARKDOWN_MAX_DELIMITERS / 2),
      '**a'.repeat(MARKDOWN_MAX_DELIMITERS / 2),
      '*a'.repeat(MARKDOWN_MAX_DELIMITERS),
      '*a '.repeat(MARKDOWN_MAX_CHARS / 3),
      '_a '.repeat(MARKDOWN_MAX_CHARS / 3),
      '['.repeat(MARKDOWN_MAX_CHARS),
      '>'.repeat(MARKDOWN_MAX_CHARS),
      '> - '.repeat(MARKDOWN_MAX_CHARS / 4),
      // As deep a list as fits under the bound (two spaces a level).
      Array.from({ length: 90 }, (_, i) => `${'  '.repeat(i)}- x`).join('\n'),
      `${'[a]('.repeat(MARKDOWN_MAX_CHARS / 4)}`,
      '- '.repeat(MARKDOWN_MAX_CHARS / 2),
      '`'.repeat(MARKDOWN_MAX_CHARS),
      '<'.repeat(MARKDOWN_MAX_CHARS),
      `https://example.com/${'('.repeat(MARKDOWN_MAX_CHARS - 20)}`,
    ];
    for (const text of inputs) {
      const started = performance.now();
      const el = show(text);
      const took = performance.now() - started;
      expect({ text: text.slice(0, 12), fast: took < 1_500 }).toEqual({
        text: text.slice(0, 12),
        fast: true,
      });
      expect(el.querySelector(FORBIDDEN)).toBeNull();
    }
    expect(show('x'.repeat(4_000))).toHaveTextContent('x'.repeat(4_000));
    expect(show('*'.repeat(100_000)).textContent).toHaveLength(100_000);
  });

  it('shows text with more emphasis markers than the bound as typed', () => {
    const text = `**bold** ${'_'.repeat(MARKDOWN_MAX_DELIMITERS)}`;
    const el = show(text);
    expect(el.querySelector('strong')).toBeNull();
    expect(el.textContent).toBe(text);
    expect(
      show(`**bold** ${'_'.repeat(MARKDOWN_MAX_DELIMITERS - 4)}`).querySelector('strong'),
    ).not.toBeNull();
  });

  it('shows text too long for Markdown as typed', () => {
    const text = `**not bold** ${'y'.repeat(MARKDOWN_MAX_CHARS)}`;
    const el = show(text);
    expect(el.querySelector('strong')).toBeNull();
    expect(el.textContent).toBe(text);
  });
});

describe('links in the message item', () => {
  it('a click on a link never reaches the web view as a navigation', () => {
    fakeApp({ open_link: () => null });
    const el = show('[docs](https://example.com)');
    expect(fireEvent.click(el.querySelector('a')!)).toBe(false);
    expect(screen.getByRole('link', { name: 'docs' })).toHaveAttribute('href', 'https://example.com/');
  });
});

describe('code highlighting', () => {
  it('highlights a long block, labelled or not, in bounded time', async () => {
    const { highlight } = await import('./highlight');
    const code = Array.from(
      { length: 300 },
      (_, i) => `const value_${i} = compute("${'x'.repeat(i % 7)}", ${i}); // ${i}`,
    )
      .join('\n')
      .slice(0, 9_000);
    const hostile = `${'/*'.repeat(2_000)}${'"\\'.repeat(1_500)}${'<a '.repeat(1_000)}`;
    for (const [text, lang] of [
      [code, undefined],
      [code, 'ts'],
      [hostile, undefined],
      [hostile, 'rust'],
      [hostile, 'xml'],
    ] as const) {
      const started = performance.now();
      highlight(text, lang);
      expect(performance.now() - started).toBeLessThan(2_000);
    }
    expect(highlight(code, undefined)).not.toBeNull();
  });
});
