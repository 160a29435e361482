// The upstream of the proxy benchmark: port "source" streams 64 KiB chunks as fast as the reader
// takes them; port "echo" echoes. Prints {"source": port, "echo": port}.
import net from 'node:net';

const chunk = Buffer.alloc(64 * 1024, 'x');
const source = net.createServer((s) => {
  s.on('error', () => {});
  const pump = () => {
    while (s.write(chunk)) {
      if (s.destroyed) return;
    }
  };
  s.on('drain', pump);
  pump();
});
const echo = net.createServer((s) => {
  s.on('error', () => {});
  s.pipe(s);
});
source.listen(0, '127.0.0.1', () =>
  echo.listen(0, '127.0.0.1', () =>
    process.stdout.write(
      `${JSON.stringify({ source: source.address().port, echo: echo.address().port })}\n`,
    ),
  ),
);
process.on('SIGTERM', () => process.exit(0));
