import { describe, expect, it } from 'vitest';
import { plainText, stripMarkers } from './plainText';
import { MARKDOWN_MAX_CHARS } from './parse';

describe('plain text previews', () => {
  it('strips the markers and keeps the words', () => {
    expect(plainText('**bold** *italic* ~~gone~~ `code`')).toBe('bold italic gone code');
    expect(plainText('> quoted\n\n- one\n- two\n\n1. first')).toBe('quoted one two first');
    expect(plainText('see [the docs](https://example.com) or https://x.org')).toBe(
      'see the docs or https://x.org',
    );
    expect(plainText('```js\nlet a = 1;\n```\nafter')).toBe('let a = 1; after');
    expect(plainText('line one\nline two')).toBe('line one line two');
  });

  it('replaces emoji shortcodes', () => {
    expect(plainText('ship it :tada:')).toBe('ship it 🎉');
  });

  it('keeps HTML and refused links as text', () => {
    expect(plainText('<b>hi</b> [x](javascript:alert(1))')).toBe('<b>hi</b> x');
  });

  it('is quick on hostile input', () => {
    const started = performance.now();
    plainText('*'.repeat(100_000));
    plainText('**a'.repeat(MARKDOWN_MAX_CHARS / 3));
    plainText('> '.repeat(200));
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('strips markers from search snippet fragments', () => {
    expect(stripMarkers('the **quick** ~~brown~~ `fox`')).toBe('the quick brown fox');
    expect(stripMarkers('snake_case stays, _emphasis_ goes')).toBe('snake_case stays, emphasis goes');
    expect(stripMarkers('2 * 3 and [link](https://x.org)')).toBe('2 * 3 and link');
  });
});
