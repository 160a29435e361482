import { main } from '../src/main.js';

/** Runs the CLI's `main` in this process, as if started in `cwd`, and keeps what it wrote. */
export async function ninesIn(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    cwd,
  });
  return { code, out, err };
}
