import { createProxyAdmin, createProxyRegistry, type ProxyInput } from '@nines/chaos';
import { type Command, EXIT, parseOptions, UsageError } from '../command.js';
import { loadConfig } from '../config.js';

const help = `Usage: nines proxy [options]

Runs the nines fault proxy: TCP proxies from a listen address to an upstream, driven through the
Toxiproxy 2.x HTTP API (Toxiproxy's clients and CLI work unchanged) to add latency, cut bandwidth,
time out, reset or drop connections. Runs until SIGINT or SIGTERM.

Options:
  --config <file>      proxies to create at start: Toxiproxy's config format, a JSON array of
                       {"name", "listen", "upstream", "enabled"?} (or .js/.mjs exporting
                       "proxies" or a default export)
  --proxy <spec>       one more proxy as name=listen=upstream, e.g.
                       --proxy redis=127.0.0.1:26379=127.0.0.1:6379 (repeatable)
  --host <host>        admin API interface (default 127.0.0.1; the API can break the network,
                       so expose it on purpose only)
  --port <port>        admin API port (default 8474, Toxiproxy's)
  -h, --help           show this help

Exit codes: 0 stopped by a signal; 1 the proxy failed; 2 bad option or configuration.

Example:
  nines proxy --proxy store=127.0.0.1:18081=127.0.0.1:8081 &
  curl -s -XPOST localhost:8474/proxies/store/toxics -d '{"type":"latency","attributes":{"latency":500}}'
`;

export const proxy: Command = {
  name: 'proxy',
  summary: 'run the Toxiproxy-compatible fault proxy',
  help,
  async run(args, io) {
    const { values } = parse(args);
    if (values.help) {
      io.out(help);
      return EXIT.ok;
    }
    const inputs: ProxyInput[] = [];
    if (values.config !== undefined) {
      const loaded = await loadConfig(values.config, io.cwd, 'proxies');
      if (!Array.isArray(loaded)) {
        throw new UsageError(`${values.config} must hold an array of proxies`);
      }
      inputs.push(...(loaded as ProxyInput[]));
    }
    for (const spec of values.proxy ?? []) {
      const parts = spec.split('=');
      if (parts.length !== 3 || parts.some((p) => p === '')) {
        throw new UsageError(`--proxy must be name=listen=upstream, got ${JSON.stringify(spec)}`);
      }
      inputs.push({ name: parts[0], listen: parts[1], upstream: parts[2] });
    }
    let port = 8474;
    if (values.port !== undefined) {
      port = Number(values.port);
      if (!/^\d+$/.test(values.port) || port > 65535) {
        throw new UsageError(`--port must be a port number, got ${values.port}`);
      }
    }
    const registry = createProxyRegistry();
    const admin = createProxyAdmin(registry, { host: values.host ?? '127.0.0.1', port });
    try {
      const created = await registry.populate(inputs);
      const url = await admin.listen();
      io.out(`nines proxy: admin API on ${url}\n`);
      for (const p of created) io.out(`  ${p.name}: ${p.listen} -> ${p.upstream}\n`);
    } catch (err) {
      await admin.close();
      await registry.close();
      const status = (err as { status?: number }).status;
      if (status !== undefined && status < 500) throw new UsageError((err as Error).message);
      throw err;
    }
    const signal = await new Promise<string>((resolve) => {
      const stop = (name: string) => () => resolve(name);
      process.once('SIGINT', stop('SIGINT'));
      process.once('SIGTERM', stop('SIGTERM'));
    });
    io.out(`nines proxy: ${signal}, closing\n`);
    await admin.close();
    await registry.close();
    return EXIT.ok;
  },
};

function parse(args: readonly string[]) {
  return parseOptions({
    args: [...args],
    options: {
      config: { type: 'string' },
      proxy: { type: 'string', multiple: true },
      host: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}
