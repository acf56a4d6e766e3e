// Baseline: a plain Node http server that answers GETs with the same bytes from
// memory and consumes PUT bodies without storing them — the ceiling an
// S3 server written on Node's http module can approach on this machine.
//   node dist/bench/plain-server.js PORT
import { createServer } from 'node:http';

export function startPlainServer(port: number): Promise<{ port: number; close: () => Promise<void> }> {
  const objects = new Map<string, Buffer>();
  const server = createServer((request, response) => {
    const path = request.url ?? '/';
    if (request.method === 'PUT') {
      const parts: Buffer[] = [];
      const keep = path.split('/').length > 2;
      request.on('data', (chunk: Buffer) => {
        if (keep) parts.push(chunk);
      });
      request.on('end', () => {
        if (keep) objects.set(path, Buffer.concat(parts));
        response.writeHead(200, { etag: '"0"', 'content-length': 0 });
        response.end();
      });
      return;
    }
    const body = objects.get(path);
    if (!body) {
      response.writeHead(404, { 'content-length': 0 });
      response.end();
      return;
    }
    response.writeHead(200, { 'content-length': body.length, 'content-type': 'binary/octet-stream', etag: '"0"' });
    response.end(body);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => {
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

if (process.argv[1]?.endsWith('plain-server.js')) {
  void startPlainServer(Number(process.argv[2] ?? 0)).then(({ port }) => console.log(`plain server on ${port}`));
}
