import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const running: ChildProcess[] = [];
afterEach(() => {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function nines(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: fixtures, timeout: 20_000 },
      (error, out, err) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out, err });
      },
    );
  });
}

/** Starts `nines proxy` and waits (bounded) for its banner. */
async function startProxy(...args: string[]) {
  const child = spawn(process.execPath, [cli, 'proxy', '--port', '0', ...args], {
    cwd: fixtures,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d;
  });
  const deadline = Date.now() + 15_000;
  while (!/admin API on (\S+)\n[\s\S]*\n$/.test(out) || !out.includes('->')) {
    if (Date.now() > deadline) throw new Error(`no banner: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const admin = /admin API on (\S+)/.exec(out)?.[1] as string;
  return { child, admin, output: () => out };
}

describe('nines proxy', () => {
  it('serves the Toxiproxy API and proxies from flags and a config file, and stops on SIGTERM', async () => {
    const echo = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1');
    await once(echo, 'listening');
    try {
      const upstream = `127.0.0.1:${(echo.address() as net.AddressInfo).port}`;
      const p = await startProxy(
        '--config',
        'proxies.json',
        '--proxy',
        `echo=127.0.0.1:0=${upstream}`,
      );
      expect(new URL(p.admin).hostname).toBe('127.0.0.1');
      const proxies = (await (await fetch(`${p.admin}/proxies`)).json()) as Record<
        string,
        { listen: string; enabled: boolean }
      >;
      expect(Object.keys(proxies).sort()).toEqual(['echo', 'store']);
      expect(proxies.store?.enabled).toBe(false);
      const [host, port] = String(proxies.echo?.listen).split(':') as [string, string];
      const socket = net.connect(Number(port), host);
      socket.write('hello');
      const [data] = (await once(socket, 'data')) as [Buffer];
      expect(data.toString()).toBe('hello');
      socket.destroy();
      p.child.kill('SIGTERM');
      const [code] = await once(p.child, 'exit');
      expect(code).toBe(0);
      expect(p.output()).toMatch(/SIGTERM, closing/);
    } finally {
      echo.close();
    }
  });

  it('exits 2 on bad flags or configuration, 1 when a proxy cannot listen', async () => {
    expect((await nines('proxy', '--proxy', 'only-two=parts')).code).toBe(2);
    expect((await nines('proxy', '--port', 'eighty')).code).toBe(2);
    expect((await nines('proxy', '--bogus')).code).toBe(2);
    const bad = await nines('proxy', '--port', '0', '--config', 'proxies-bad.json');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/missing required field: name/);
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const busy = await nines(
        'proxy',
        '--port',
        '0',
        '--proxy',
        `x=127.0.0.1:${port}=127.0.0.1:1`,
      );
      expect(busy.code).toBe(1);
      expect(busy.err).toMatch(/EADDRINUSE|address already in use/);
    } finally {
      taken.close();
    }
  });
});
