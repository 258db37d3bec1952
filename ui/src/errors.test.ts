import { describe, expect, it } from 'vitest';
import { describeError } from './errors';

describe('describeError', () => {
  it('keeps only known fields and capitalizes them', () => {
    const e = describeError({
      code: 'validation_failed',
      message: 'x',
      fields: { username: 'too short', nonsense: 'ignored' },
    });
    expect(e).toEqual({ banner: null, fields: { username: 'Too short' } });
  });

  it('falls back to the message for validation errors without fields', () => {
    expect(describeError({ code: 'validation_failed', message: 'Bad.' }).banner).toBe('Bad.');
  });

  it('puts address problems on the server field', () => {
    expect(describeError({ code: 'unexpected_response', message: 'Not Jeco.' }).fields.server).toBe(
      'Not Jeco.',
    );
    expect(
      describeError({ code: 'invalid_address', message: 'm', fields: { server: 'it is empty' } }).fields
        .server,
    ).toBe('It is empty');
  });

  it('tells rate limits in seconds and lockouts in minutes', () => {
    expect(describeError({ code: 'rate_limited', message: '', retryAfterSecs: 12 }).banner).toContain(
      '12 seconds',
    );
    expect(describeError({ code: 'account_locked', message: '', retryAfterSecs: 30 }).banner).toContain(
      'a minute',
    );
  });

  it('shows unknown codes with their message', () => {
    expect(describeError({ code: 'internal', message: 'Boom.' }).banner).toBe('Boom.');
  });
});
