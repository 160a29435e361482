import type { IncomingMessage } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  detailGate,
  isLoopback,
  livenessStatus,
  type ProbeStatus,
  probePath,
  publicBody,
  type ReadinessInput,
  readinessStatus,
  startupStatus,
  statusCodeOf,
} from '../src/probes.js';

const input = fc.record<ReadinessInput>({
  ok: fc.boolean(),
  critical: fc.boolean(),
  onFailure: fc.constantFrom('fail', 'degrade'),
});

const rank: Record<ProbeStatus, number> = {
  ok: 0,
  degraded: 1,
  fail: 2,
  starting: 3,
  shutting_down: 4,
};

describe('readinessStatus', () => {
  it('matches the documented model for any set of results and settings', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.array(input, { maxLength: 12 }),
        (started, down, inputs) => {
          const status = readinessStatus(started, down, inputs);
          const failed = inputs.filter((i) => !i.ok);
          let expected: ProbeStatus;
          if (down) expected = 'shutting_down';
          else if (!started) expected = 'starting';
          else if (failed.some((i) => i.critical && i.onFailure === 'fail')) expected = 'fail';
          else if (failed.length > 0) expected = 'degraded';
          else expected = 'ok';
          expect(status).toBe(expected);
          // In rotation exactly when started, not shutting down, and no blocking failure.
          expect(statusCodeOf(status) === 200).toBe(
            started && !down && !failed.some((i) => i.critical && i.onFailure === 'fail'),
          );
        },
      ),
    );
  });

  it('never gets better when one more result fails, and does not depend on order', () => {
    fc.assert(
      fc.property(fc.array(input, { minLength: 1, maxLength: 10 }), fc.nat(), (inputs, k) => {
        const i = k % inputs.length;
        const worse = inputs.map((x, j) => (j === i ? { ...x, ok: false } : x));
        expect(rank[readinessStatus(true, false, worse)]).toBeGreaterThanOrEqual(
          rank[readinessStatus(true, false, inputs)],
        );
        expect(readinessStatus(true, false, [...inputs].reverse())).toBe(
          readinessStatus(true, false, inputs),
        );
      }),
    );
  });

  it('is ok with nothing to check, and a non-critical failure only degrades', () => {
    expect(readinessStatus(true, false, [])).toBe('ok');
    expect(readinessStatus(true, false, [{ ok: false, critical: false, onFailure: 'fail' }])).toBe(
      'degraded',
    );
  });
});

describe('liveness and startup decisions', () => {
  it('liveness fails only above the threshold', () => {
    expect(livenessStatus(100, 100)).toBe('ok');
    expect(livenessStatus(100.5, 100)).toBe('fail');
    expect(livenessStatus(1e9, Number.POSITIVE_INFINITY)).toBe('ok');
  });

  it('startup passes once started', () => {
    expect(startupStatus(false)).toBe('starting');
    expect(startupStatus(true)).toBe('ok');
  });

  it('maps statuses to 200 or 503', () => {
    expect(
      (['ok', 'degraded', 'fail', 'starting', 'shutting_down'] as const).map(statusCodeOf),
    ).toEqual([200, 200, 503, 503, 503]);
  });
});

const req = (over: { method?: string; url?: string; remoteAddress?: string }) =>
  ({
    method: over.method ?? 'GET',
    url: over.url ?? '/',
    socket: { remoteAddress: over.remoteAddress },
  }) as unknown as IncomingMessage;

describe('detail', () => {
  it('recognises loopback addresses only', () => {
    for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of ['10.0.0.7', '::ffff:10.0.0.7', '192.168.1.1', 'fe80::1', '', undefined]) {
      expect(isLoopback(a)).toBe(false);
    }
  });

  it('gates by setting; a predicate that throws or returns a non-boolean shows nothing', () => {
    const local = req({ remoteAddress: '127.0.0.1' });
    const remote = req({ remoteAddress: '10.1.2.3' });
    expect([detailGate('loopback')(local), detailGate('loopback')(remote)]).toEqual([true, false]);
    expect([detailGate('always')(remote), detailGate('never')(local)]).toEqual([true, false]);
    expect(detailGate(() => false)(local)).toBe(false);
    expect(
      detailGate(() => {
        throw new Error('bug');
      })(local),
    ).toBe(false);
    expect(detailGate((() => 'yes') as unknown as () => boolean)(local)).toBe(false);
    expect(detailGate((r) => r.socket.remoteAddress === '10.1.2.3')(remote)).toBe(true);
  });

  it('publicBody keeps only the status', () => {
    expect(publicBody({ status: 'fail', checks: { a: { status: 'fail', latencyMs: 1 } } })).toEqual(
      {
        status: 'fail',
      },
    );
    expect(publicBody({ status: 'ok', eventLoopDelayMs: 3 })).toEqual({ status: 'ok' });
  });
});

describe('probePath', () => {
  it('answers GET and HEAD, strips the query string, keeps the path exact', () => {
    expect(probePath(req({ url: '/ready?verbose=1' }))).toBe('/ready');
    expect(probePath(req({ method: 'HEAD', url: '/healthz' }))).toBe('/healthz');
    expect(probePath(req({ url: '/ready/' }))).toBe('/ready/');
    expect(probePath(req({ method: 'POST', url: '/ready' }))).toBeUndefined();
    expect(probePath(req({ method: 'OPTIONS', url: '/ready' }))).toBeUndefined();
  });
});
