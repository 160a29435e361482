import { describe, expect, it } from 'vitest';
import { ninesIn } from './in-process.js';

const nines = (...args: string[]) => ninesIn(process.cwd(), ...args);

describe('nines demo (command line)', () => {
  it('answers --help with what it runs, its options and exit codes', async () => {
    const r = await nines('demo', '--help');
    expect(r.code).toBe(0);
    for (const text of ['--duration', '--follow', '--json', '--no-chaos', 'Exit codes']) {
      expect(r.out).toContain(text);
    }
    expect((await nines('--help')).out).toContain('demo          run the orders system');
  });

  it('rejects bad options with exit 2 before starting anything', async () => {
    const cases: Array<[string[], string]> = [
      [['--duration', '5s'], '--duration must be at least 20s, got 5s'],
      [['--duration', 'soon'], '--duration must be a time such as 90s or 2m, got "soon"'],
      [['--rate', '0'], '--rate must be a number of requests per second in (0, 500], got 0'],
      [['--rate', 'lots'], '--rate must be a number of requests per second in (0, 500], got lots'],
      [['--colour'], "Unknown option '--colour'"],
      [['extra'], "Unexpected argument 'extra'"],
    ];
    for (const [args, message] of cases) {
      const r = await nines('demo', ...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err).toContain(message);
    }
  });
});
