// The ceiling for one extra hop in Node: a bare socket.pipe() proxy. argv: sourcePort echoPort.
// Prints {"source": port, "echo": port} of its two listeners.
import net from 'node:net';

const [sourcePort, echoPort] = process.argv.slice(2).map(Number);
const proxy = (upstreamPort) =>
  net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
const a = proxy(sourcePort);
const b = proxy(echoPort);
a.listen(0, '127.0.0.1', () =>
  b.listen(0, '127.0.0.1', () =>
    process.stdout.write(
      `${JSON.stringify({ source: a.address().port, echo: b.address().port })}\n`,
    ),
  ),
);
process.on('SIGTERM', () => process.exit(0));
