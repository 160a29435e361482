import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter, retryAfterOf } from '../src/index.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 7 ', NOW)).toBe(7_000);
  });

  it('reads the three HTTP-date forms as GMT, relative to now', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Sunday, 01-Mar-26 12:01:00 GMT', NOW)).toBe(60_000);
    // asctime has no zone; it is GMT all the same, whatever the machine's time zone.
    expect(parseRetryAfter('Sun Mar  1 12:00:05 2026', NOW)).toBe(5_000);
    expect(parseRetryAfter('Sat, 28 Feb 2026 12:00:00 GMT', NOW)).toBe(0); // past
  });

  it('rejects anything else', () => {
    for (const v of [
      '-1',
      '1.5',
      '+3',
      '',
      ' ',
      'soon',
      '2026-03-01T12:00:30Z',
      '1e3',
      'Sun, garbage',
    ]) {
      expect(parseRetryAfter(v, NOW)).toBeUndefined();
    }
    expect(parseRetryAfter(null, NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('property: any non-negative integer of seconds round-trips', () => {
    fc.assert(
      fc.property(fc.nat(), (s) => {
        expect(parseRetryAfter(String(s), NOW)).toBe(s * 1000);
      }),
    );
  });

  it('property: any date formatted as IMF-fixdate is read back to the second', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_000_000_000 }), (secs) => {
        const at = secs * 1000;
        const text = new Date(at).toUTCString(); // IMF-fixdate
        expect(parseRetryAfter(text, NOW)).toBe(Math.max(0, at - NOW));
      }),
    );
  });
});

describe('retryAfterOf', () => {
  it('reads retryAfterMs from errors, ignoring negative or non-numeric values', () => {
    expect(retryAfterOf(Object.assign(new Error(), { retryAfterMs: 250 }), NOW)).toBe(250);
    expect(retryAfterOf({ retryAfterMs: -1 }, NOW)).toBeUndefined();
    expect(retryAfterOf({ retryAfterMs: '5' }, NOW)).toBeUndefined();
    expect(retryAfterOf(new Error('plain'), NOW)).toBeUndefined();
    expect(retryAfterOf(undefined, NOW)).toBeUndefined();
    expect(retryAfterOf('503', NOW)).toBeUndefined();
  });

  it('reads Retry-After of 429 and 503 responses only', () => {
    const h = { 'retry-after': '2' };
    expect(retryAfterOf({ status: 429, headers: h }, NOW)).toBe(2_000);
    expect(retryAfterOf({ status: 503, headers: new Headers(h) }, NOW)).toBe(2_000);
    expect(retryAfterOf({ status: 503, headers: { 'RETRY-AFTER': 3 } }, NOW)).toBe(3_000);
    expect(retryAfterOf({ status: 503, headers: { 'retry-after': ['4', '9'] } }, NOW)).toBe(4_000);
    expect(retryAfterOf({ status: 500, headers: h }, NOW)).toBeUndefined();
    expect(retryAfterOf({ status: 301, headers: h }, NOW)).toBeUndefined();
    expect(retryAfterOf({ status: 503, headers: null }, NOW)).toBeUndefined();
    expect(retryAfterOf({ status: 503, headers: {} }, NOW)).toBeUndefined();
    expect(retryAfterOf({ response: { status: 429, headers: h } }, NOW)).toBe(2_000);
  });
});
