import { ManualClock } from '@nines/resilience';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinHostPort, splitHostPort } from '../src/proxy/address.js';
import {
  createStage,
  type LinkControl,
  type Sink,
  type Stage,
  type ToxicState,
} from '../src/proxy/toxics.js';

/** A link stand-in: a driven clock, a seeded random, and a sink collecting what comes out. */
function harness(seed: number) {
  const clock = new ManualClock(0);
  let s = seed >>> 0 || 1;
  const out: Buffer[] = [];
  const events = { ended: 0, dropped: 0, closeAfterEnd: 0, reset: 0 };
  const link: LinkControl = {
    clock,
    random: () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    },
    dropped: (n) => {
      events.dropped += n;
    },
    closeAfterEnd: () => {
      events.closeAfterEnd++;
    },
    reset: () => {
      events.reset++;
    },
    added: () => {},
    reply: () => {},
    watchPeer: () => {},
    unwatchPeer: () => {},
  };
  const terminal: Sink = {
    write: (data) => {
      out.push(Buffer.from(data));
    },
    end: () => {
      events.ended++;
    },
  };
  const stages: Stage[] = [];
  let head: Sink = terminal;
  return {
    clock,
    out,
    events,
    get head() {
      return head;
    },
    add(toxic: ToxicState) {
      const stage = createStage(link, toxic, terminal);
      const last = stages[stages.length - 1];
      if (last) last.next = stage;
      else head = stage;
      stages.push(stage);
    },
    remove(i: number) {
      const stage = stages[i];
      if (!stage) return;
      stages.splice(i, 1);
      const prev = stages[i - 1];
      if (prev) prev.next = stage.next;
      else head = stage.next;
      stage.remove();
    },
    get size() {
      return stages.length;
    },
  };
}

const toxic = (
  type: ToxicState['type'],
  attributes: Record<string, number>,
  toxicity = 1,
): ToxicState => ({
  name: type,
  type,
  stream: 'downstream',
  toxicity,
  attributes,
});

const passThroughToxic = fc.oneof(
  fc.record({ latency: fc.nat(50), jitter: fc.nat(20) }).map((a) => toxic('latency', a)),
  fc.record({ rate: fc.integer({ min: 1, max: 50 }) }).map((a) => toxic('bandwidth', a)),
  fc.record({ rate: fc.constant(0) }).map((a) => toxic('bandwidth', a)),
  fc
    .record({ average_size: fc.nat(64), size_variation: fc.nat(16), delay: fc.nat(3000) })
    .map((a) => toxic('slicer', a)),
  fc.constant(toxic('noop', {})),
  fc.record({ delay: fc.nat(50) }).map((a) => toxic('slow_close', a)),
  fc.record({ latency: fc.nat(50) }).map((a) => toxic('latency', a, 0.5)),
);

type Op =
  | { kind: 'write'; size: number }
  | { kind: 'add'; toxic: ToxicState }
  | { kind: 'remove'; index: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), size: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ kind: fc.constant('add' as const), toxic: passThroughToxic }),
  fc.record({ kind: fc.constant('remove' as const), index: fc.nat(5) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.nat(300) }),
);

describe('toxic chains (driven clock)', () => {
  it('adding, removing and time passing never lose, duplicate or reorder bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), fc.integer(), async (ops, seed) => {
        const h = harness(seed);
        const sent: Buffer[] = [];
        let counter = 0;
        for (const o of ops) {
          if (o.kind === 'write') {
            const b = Buffer.alloc(o.size);
            for (let i = 0; i < b.length; i++) b[i] = counter++ & 0xff;
            sent.push(b);
            h.head.write(b, h.clock.now());
          } else if (o.kind === 'add') {
            if (h.size < 6) h.add({ ...o.toxic, attributes: { ...o.toxic.attributes } });
          } else if (o.kind === 'remove') {
            h.remove(o.index);
          } else {
            await h.clock.advance(o.ms);
          }
        }
        h.head.end();
        while (h.size > 0) h.remove(0);
        await h.clock.advance(1000);
        expect(Buffer.concat(h.out).equals(Buffer.concat(sent))).toBe(true);
        expect(h.events.ended).toBe(1);
        expect(h.events.dropped).toBe(0);
        expect(h.clock.pendingTimers).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('slicer slices cover each chunk exactly, none larger than average + variation', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer(),
        (size, average, spread, seed) => {
          const variation = Math.min(spread, average - 1);
          const h = harness(seed);
          h.add(toxic('slicer', { average_size: average, size_variation: variation, delay: 0 }));
          const b = Buffer.alloc(size, 1);
          h.head.write(b, 0);
          expect(Buffer.concat(h.out).length).toBe(size);
          for (const piece of h.out) {
            expect(piece.length).toBeGreaterThan(0);
            expect(piece.length).toBeLessThanOrEqual(average + variation);
          }
        },
      ),
    );
  });

  it('latency delays by exactly latency on the clock, stacked ones add up', async () => {
    const h = harness(1);
    h.add(toxic('latency', { latency: 100, jitter: 0 }));
    h.add(toxic('latency', { latency: 250, jitter: 0 }));
    h.head.write(Buffer.from('x'), 0);
    await h.clock.advance(349);
    expect(h.out).toHaveLength(0);
    await h.clock.advance(1);
    expect(h.out).toHaveLength(1);
  });

  it('bandwidth sends 100 ms slices at its rate', async () => {
    const h = harness(1);
    h.add(toxic('bandwidth', { rate: 10 })); // 10 KB/s: 1,000 bytes per 100 ms
    h.head.write(Buffer.alloc(3500), 0);
    await h.clock.advance(99);
    expect(h.out).toHaveLength(0);
    await h.clock.advance(1);
    expect(h.out.map((b) => b.length)).toEqual([1000]);
    await h.clock.advance(200);
    expect(h.out.map((b) => b.length)).toEqual([1000, 1000, 1000]);
    await h.clock.advance(49);
    expect(h.out).toHaveLength(3);
    await h.clock.advance(1);
    expect(h.out.map((b) => b.length)).toEqual([1000, 1000, 1000, 500]);
  });

  it('timeout drops data and closes after the quiet time; each chunk restarts the wait', async () => {
    const h = harness(1);
    h.add(toxic('timeout', { timeout: 100 }));
    h.head.write(Buffer.alloc(10), 0);
    await h.clock.advance(80);
    h.head.write(Buffer.alloc(5), h.clock.now());
    await h.clock.advance(99);
    expect(h.events.ended).toBe(0);
    await h.clock.advance(1);
    expect(h.events).toMatchObject({ ended: 1, closeAfterEnd: 1, dropped: 15 });
    expect(h.out).toHaveLength(0);
  });

  it('reset_peer resets after the first chunk and its timeout; limit_data truncates and closes', async () => {
    const h = harness(1);
    h.add(toxic('reset_peer', { timeout: 30 }));
    await h.clock.advance(1000);
    expect(h.events.reset).toBe(0);
    h.head.write(Buffer.alloc(4), h.clock.now());
    await h.clock.advance(29);
    expect(h.events.reset).toBe(0);
    await h.clock.advance(1);
    expect(h.events.reset).toBe(1);

    const l = harness(1);
    l.add(toxic('limit_data', { bytes: 7 }));
    l.head.write(Buffer.alloc(5), 0);
    l.head.write(Buffer.alloc(5), 0);
    l.head.write(Buffer.alloc(5), 0);
    expect(l.out.map((b) => b.length)).toEqual([5, 2]);
    expect(l.events).toMatchObject({ ended: 1, closeAfterEnd: 1, dropped: 8 });
  });
});

describe('listen and upstream addresses', () => {
  it('round-trips host:port for names, IPv4 and IPv6', () => {
    const host = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.domain(),
      fc.constant('localhost'),
      fc.constant(''),
    );
    fc.assert(
      fc.property(host, fc.integer({ min: 0, max: 65535 }), (h, port) => {
        expect(splitHostPort(joinHostPort(h, port))).toEqual({ host: h, port });
      }),
    );
  });

  it('explains what is wrong with a bad address', () => {
    expect(splitHostPort('localhost')).toBe('address localhost: missing port in address');
    expect(splitHostPort('a:b:1')).toBe('address a:b:1: too many colons in address');
    expect(splitHostPort('h:99999')).toBe('address h:99999: invalid port');
    expect(splitHostPort('h:')).toBe('address h:: invalid port');
    expect(splitHostPort('[::1')).toBe("address [::1: missing ']' in address");
    expect(splitHostPort('[::1]')).toBe('address [::1]: missing port in address');
  });
});
