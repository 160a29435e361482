import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { faultResponse } from '../src/proxy/http-toxics.js';
import { createProxyRegistry, type ProxyRegistryOptions } from '../src/proxy/registry.js';
import { ProxyApiError, type ProxyRegistry } from '../src/proxy/types.js';
import { dial, readBytes, startUpstream, type Upstream } from './proxy-net.js';

let registry: ProxyRegistry | undefined;
let server: Server | undefined;
let tcp: Upstream | undefined;

afterEach(async () => {
  await registry?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await tcp?.close();
  registry = undefined;
  server = undefined;
  tcp = undefined;
});

interface Seen {
  method: string;
  url: string;
  body: number;
}

/** A node:http upstream answering `ok <url> <body length>`; records what it received. */
async function httpUpstream(): Promise<{ address: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  server = createServer((req: IncomingMessage, res) => {
    let body = 0;
    req.on('data', (d: Buffer) => {
      body += d.length;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.end(`ok ${req.url} ${body}`);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

async function proxyTo(address: string, options?: ProxyRegistryOptions): Promise<string> {
  registry = createProxyRegistry(options);
  const p = await registry.create({ name: 'p', listen: '127.0.0.1:0', upstream: address });
  return `http://${p.listen}`;
}

/** Draws from a fixed cycle, so toxicity outcomes are known. */
function cycle(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/**
 * Client connections the proxy accepted. undici (fetch) opens a second socket for its second
 * request and then reuses both, so a connection a fault had closed would show as a third.
 */
function connections(): number {
  return registry!.stats()[0]!.connectionsTotal;
}

describe('http_status', () => {
  it('answers every request with the status when toxicity is 1; the upstream sees none', async () => {
    const up = await httpUpstream();
    const base = await proxyTo(up.address);
    const t = registry!.addToxic('p', { type: 'http_status' });
    expect(t).toEqual({
      name: 'http_status_upstream',
      type: 'http_status',
      stream: 'upstream',
      toxicity: 1,
      attributes: { status: 0 },
    });
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${base}/r${i}`);
      expect(res.status).toBe(503);
      expect(res.headers.get('x-nines-fault')).toBe('http_status');
      expect(await res.text()).toBe('Service Unavailable');
    }
    registry!.updateToxic('p', 'http_status_upstream', { attributes: { status: 418 } });
    const res = await fetch(`${base}/teapot`);
    expect(res.status).toBe(418);
    expect(await res.text()).toBe("I'm a Teapot");
    expect(up.seen).toEqual([]);
    // One keep-alive connection carried all of them.
    expect(connections()).toBeLessThanOrEqual(2);
  });

  it('faults the drawn share and keeps the connection usable across faulted and normal requests', async () => {
    const up = await httpUpstream();
    const base = await proxyTo(up.address, { random: cycle([0.1, 0.9]) });
    registry!.addToxic('p', { type: 'http_status', toxicity: 0.5, attributes: { status: 500 } });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${base}/n${i}`);
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([500, 200, 500, 200, 500, 200, 500, 200, 500, 200]);
    expect(up.seen.map((s) => s.url)).toEqual(['/n1', '/n3', '/n5', '/n7', '/n9']);
    expect(connections()).toBeLessThanOrEqual(2);
  });

  it('skips faulted request bodies (content-length and chunked) so the next request works', async () => {
    const up = await httpUpstream();
    const base = await proxyTo(up.address, { random: cycle([0.1, 0.9]) });
    registry!.addToxic('p', { type: 'http_status', toxicity: 0.5 });
    const big = Buffer.alloc(300_000, 7);
    const a = await fetch(`${base}/cl`, { method: 'POST', body: big });
    expect(a.status).toBe(503);
    await a.text();
    const b = await fetch(`${base}/after-cl`);
    expect(await b.text()).toBe('ok /after-cl 0');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(5000).fill(i));
        c.close();
      },
    });
    const c = await fetch(`${base}/chunked`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(c.status).toBe(503);
    await c.text();
    const d = await fetch(`${base}/after-chunked`, { method: 'POST', body: 'x'.repeat(10) });
    expect(await d.text()).toBe('ok /after-chunked 10');
    expect(up.seen).toEqual([
      { method: 'GET', url: '/after-cl', body: 0 },
      { method: 'POST', url: '/after-chunked', body: 10 },
    ]);
    expect(connections()).toBeLessThanOrEqual(2);
  });

  it('removed under traffic: later requests are normal', async () => {
    const up = await httpUpstream();
    const base = await proxyTo(up.address);
    registry!.addToxic('p', { type: 'http_status', attributes: { status: 502 } });
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      if (i === 10) registry!.removeToxic('p', 'http_status_upstream');
      const res = await fetch(`${base}/x${i}`);
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(502));
    expect(statuses.slice(10)).toEqual(Array(10).fill(200));
    expect(up.seen).toHaveLength(10);
  });

  it('on the downstream stream replaces responses; the upstream still gets the requests', async () => {
    const up = await httpUpstream();
    const base = await proxyTo(up.address);
    const t = registry!.addToxic('p', {
      type: 'http_status',
      stream: 'downstream',
      attributes: { status: 504 },
    });
    expect(t.name).toBe('http_status_downstream');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/d${i}`);
      expect(res.status).toBe(504);
      expect(await res.text()).toBe('Gateway Timeout');
    }
    expect(up.seen).toHaveLength(3);
    expect(connections()).toBeLessThanOrEqual(2);
  });

  it('builds the documented fault response', () => {
    expect(faultResponse(0).toString()).toBe(
      'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 19\r\ncontent-type: text/plain\r\n' +
        'x-nines-fault: http_status\r\n\r\nService Unavailable',
    );
    expect(faultResponse(204).toString()).toContain('content-length: 0\r\n');
  });
});

describe('http_delay', () => {
  it('delays each request on a keep-alive connection, per request and not per chunk', async () => {
    const up = await httpUpstream();
    const base = await proxyTo(up.address);
    registry!.addToxic('p', { type: 'http_delay', attributes: { delay: 200 } });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const res = await fetch(`${base}/s${i}`);
      expect(await res.text()).toBe(`ok /s${i} 0`);
      times.push(performance.now() - start);
    }
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(195);
      expect(t).toBeLessThan(400);
    }
    // 4 MB arrive in many chunks; a per-chunk delay would add seconds.
    const start = performance.now();
    const res = await fetch(`${base}/big`, { method: 'POST', body: Buffer.alloc(4_000_000, 1) });
    expect(await res.text()).toBe('ok /big 4000000');
    const took = performance.now() - start;
    expect(took).toBeGreaterThanOrEqual(195);
    expect(took).toBeLessThan(800);
    expect(connections()).toBeLessThanOrEqual(2);
  });

  it('draws toxicity per request', async () => {
    const up = await httpUpstream();
    const base = await proxyTo(up.address, { random: cycle([0.9, 0.1]) });
    registry!.addToxic('p', { type: 'http_delay', toxicity: 0.5, attributes: { delay: 300 } });
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = performance.now();
      await (await fetch(`${base}/t${i}`)).text();
      times.push(performance.now() - start);
    }
    expect(times.map((t) => t >= 295)).toEqual([false, true, false, true]);
    expect(up.seen).toHaveLength(4);
  });
});

describe('non-HTTP traffic', () => {
  it('passes through both toxics unchanged and undelayed', async () => {
    tcp = await startUpstream();
    await proxyTo(tcp.address);
    registry!.addToxic('p', { type: 'http_delay', attributes: { delay: 1000 } });
    registry!.addToxic('p', { type: 'http_status' });
    const client = await dial(Number(registry!.get('p').listen.split(':')[1]));
    const payloads = [
      Buffer.from([0, 1, 2, 3, 255, 254, 13, 10, 13, 10]),
      Buffer.from('hello world\r\n\r\n'),
      Buffer.from('get / http/1.1\r\n\r\n'),
    ];
    for (const payload of payloads) {
      const start = performance.now();
      const back = readBytes(client, payload.length);
      client.write(payload);
      const got = await back;
      expect(got.data.equals(payload)).toBe(true);
      expect(got.at - start).toBeLessThan(500);
    }
    client.destroy();
  });
});

describe('validation', () => {
  it('rejects bad attributes with a 400 naming them; update merges', async () => {
    const up = await httpUpstream();
    await proxyTo(up.address);
    const bad = (input: object): ProxyApiError => {
      try {
        registry!.addToxic('p', input);
      } catch (err) {
        return err as ProxyApiError;
      }
      throw new Error('accepted');
    };
    const e1 = bad({ type: 'http_status', attributes: { status: 700 } });
    expect(e1).toBeInstanceOf(ProxyApiError);
    expect(e1.status).toBe(400);
    expect(e1.message).toBe(
      'bad request body: attribute "status" must be an HTTP status between 100 and 599, got 700',
    );
    expect(bad({ type: 'http_status', attributes: { status: 99 } }).message).toContain('"status"');
    const e2 = bad({ type: 'http_delay', attributes: { delay: -5 } });
    expect(e2.status).toBe(400);
    expect(e2.message).toBe(
      'bad request body: attribute "delay" must be a non-negative integer, got number -5',
    );
    registry!.addToxic('p', { type: 'http_status', name: 's', attributes: { status: 429 } });
    expect(() => registry!.updateToxic('p', 's', { attributes: { status: 1000 } })).toThrowError(
      /"status"/,
    );
    expect(registry!.updateToxic('p', 's', { toxicity: 0.3 }).attributes).toEqual({
      status: 429,
    });
    expect(registry!.toxics('p')).toHaveLength(1);
  });
});
