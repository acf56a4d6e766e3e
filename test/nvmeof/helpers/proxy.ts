// A loopback TCP proxy between an initiator and a target that records every
// byte in both directions (for pcaps) and can rewrite bytes on the way (to
// corrupt a digest or a header in a fault test). Closing one side closes the other.
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { RecordedConnection } from './pcap.js';

export interface ProxyOptions {
  targetPort: number;
  /** Called with each chunk and its direction; returns the bytes to forward. */
  transform?: (chunk: Buffer, fromClient: boolean, connectionIndex: number) => Buffer;
}

export interface RecordingProxy {
  port: number;
  connections: RecordedConnection[];
  close(): Promise<void>;
}

export async function startProxy(options: ProxyOptions): Promise<RecordingProxy> {
  const connections: RecordedConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: options.targetPort });
    const index = connections.length;
    const record: RecordedConnection = { clientPort: client.remotePort ?? 0, serverPort: options.targetPort, chunks: [] };
    connections.push(record);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    const pipe = (from: Socket, to: Socket, fromClient: boolean) => {
      from.on('data', (chunk: Buffer) => {
        const bytes = options.transform ? options.transform(chunk, fromClient, index) : chunk;
        record.chunks.push({ fromClient, bytes: Buffer.from(bytes) });
        to.write(bytes);
      });
      from.on('close', () => to.destroy());
    };
    pipe(client, upstream, true);
    pipe(upstream, client, false);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
