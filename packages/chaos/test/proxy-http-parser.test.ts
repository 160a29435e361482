import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpBoundaryParser, MAX_HEAD } from '../src/proxy/http-parser.js';

interface Msg {
  readonly chunked: boolean;
  readonly body: string;
  readonly pieces: number;
}

function request(m: Msg, i: number): string {
  if (!m.chunked) {
    return `POST /m${i} HTTP/1.1\r\nHost: x\r\ncontent-length: ${m.body.length}\r\n\r\n${m.body}`;
  }
  let out = `POST /m${i} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`;
  const size = Math.max(1, Math.ceil(m.body.length / m.pieces));
  for (let at = 0; at < m.body.length; at += size) {
    const part = m.body.slice(at, at + size);
    out += `${part.length.toString(16)};ext=1\r\n${part}\r\n`;
  }
  return `${out}0\r\nx-trailer: 1\r\n\r\n`;
}

/** Feeds `bytes` in pieces cut at `cuts`; returns the offsets where messages ended. */
function ends(parser: HttpBoundaryParser, bytes: Buffer, cuts: number[]): number[] {
  const points = [...new Set([0, ...cuts.map((c) => c % (bytes.length + 1)), bytes.length])].sort(
    (a, b) => a - b,
  );
  const out: number[] = [];
  for (let k = 1; k < points.length; k++) {
    const chunk = bytes.subarray(points[k - 1]!, points[k]!);
    let pos = 0;
    while (pos < chunk.length && !parser.failed) {
      pos = parser.advance(chunk, pos);
      if (parser.complete) out.push(points[k - 1]! + pos);
    }
  }
  return out;
}

describe('HttpBoundaryParser', () => {
  it('finds every message end however the stream is cut', () => {
    const msg = fc.record({
      chunked: fc.boolean(),
      body: fc.string({ maxLength: 200 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'a')),
      pieces: fc.integer({ min: 1, max: 5 }),
    });
    fc.assert(
      fc.property(
        fc.array(msg, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (msgs, cuts) => {
          const texts = msgs.map(request);
          const bytes = Buffer.from(texts.join(''), 'latin1');
          const expected: number[] = [];
          let at = 0;
          for (const t of texts) {
            at += t.length;
            expected.push(at);
          }
          const parser = new HttpBoundaryParser('request');
          expect(ends(parser, bytes, cuts)).toEqual(expected);
          expect(parser.failed).toBe(false);
          expect(parser.idle).toBe(true);
        },
      ),
    );
  });

  it('knows responses without a body (HEAD, 204, 304, 1xx) and reads until close otherwise', () => {
    const p = new HttpBoundaryParser('response');
    p.pendingMethods.push('HEAD', 'GET', 'GET');
    const text =
      'HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n' +
      'HTTP/1.1 100 Continue\r\n\r\n' +
      'HTTP/1.1 204 No Content\r\n\r\n' +
      'HTTP/1.1 200 OK\r\n\r\nrest of the stream';
    const bytes = Buffer.from(text);
    const got = ends(p, bytes, []);
    expect(got).toHaveLength(3);
    expect(p.pendingMethods).toEqual(['GET']);
    expect(p.idle).toBe(false);
  });

  it('gives up at once on bytes that are not HTTP/1.x, and on oversized heads', () => {
    for (const text of ['\x00\x01binary', 'hello world\r\n\r\n', 'GET / HTTP/2.0\r\n\r\n']) {
      const p = new HttpBoundaryParser('request');
      p.advance(Buffer.from(text), 0);
      expect(p.failed).toBe(true);
    }
    const r = new HttpBoundaryParser('response');
    r.advance(Buffer.from('SSH-2.0'), 0);
    expect(r.failed).toBe(true);
    const big = new HttpBoundaryParser('request');
    big.advance(Buffer.from(`GET / HTTP/1.1\r\nx: ${'a'.repeat(MAX_HEAD)}`), 0);
    expect(big.failed).toBe(true);
    const bad = new HttpBoundaryParser('request');
    ends(bad, Buffer.from('POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'), []);
    expect(bad.failed).toBe(true);
  });
});
