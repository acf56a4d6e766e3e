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
  /** Stop (or resume) reading what the target sends, as a host that does not read would. */
  setToHostPaused(paused: boolean): void;
  close(): Promise<void>;
}

export async function startProxy(options: ProxyOptions): Promise<RecordingProxy> {
  const connections: RecordedConnection[] = [];
  const sockets = new Set<Socket>();
  const upstreams = new Set<Socket>();
  let toHostPaused = false;
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: options.targetPort });
    upstreams.add(upstream);
    if (toHostPaused) upstream.pause();
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
    setToHostPaused(paused: boolean) {
      toHostPaused = paused;
      for (const upstream of upstreams) {
        if (paused) upstream.pause();
        else upstream.resume();
      }
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A transform that follows PDU boundaries in one direction and, when armed,
 * flips one byte of the next PDU that `pick` selects: pick(type) returns the
 * byte offset within that PDU to flip, or undefined to let it pass.
 */
export function pduCorrupter(direction: 'toTarget' | 'toHost') {
  let armed: ((type: number, plen: number) => number | undefined) | undefined;
  let corrupted = 0;
  // Per connection: position within the current PDU and its first 8 bytes.
  const states = new Map<number, { header: Buffer; headerBytes: number; remaining: number; flipAt: number | undefined }>();
  const transform = (chunk: Buffer, fromClient: boolean, connection: number): Buffer => {
    if (fromClient !== (direction === 'toTarget')) return chunk;
    const state = states.get(connection) ?? { header: Buffer.alloc(8), headerBytes: 0, remaining: 0, flipAt: undefined };
    states.set(connection, state);
    const out = Buffer.from(chunk);
    let i = 0;
    while (i < out.length) {
      if (state.remaining === 0 && state.headerBytes < 8) {
        const take = Math.min(8 - state.headerBytes, out.length - i);
        out.copy(state.header, state.headerBytes, i, i + take);
        state.headerBytes += take;
        i += take;
        if (state.headerBytes === 8) {
          const plen = state.header.readUInt32LE(4);
          state.remaining = plen - 8;
          state.flipAt = undefined;
          const pick = armed?.(state.header[0]!, plen);
          if (pick !== undefined && armed) {
            armed = undefined;
            corrupted += 1;
            state.flipAt = pick - 8; // relative to the bytes after the common header
          }
          if (state.remaining === 0) state.headerBytes = 0;
        }
        continue;
      }
      const take = Math.min(state.remaining, out.length - i);
      if (state.flipAt !== undefined && state.flipAt >= 0 && state.flipAt < take) {
        out[i + state.flipAt] = out[i + state.flipAt]! ^ 0x5a;
        state.flipAt = undefined;
      } else if (state.flipAt !== undefined) {
        state.flipAt -= take;
      }
      state.remaining -= take;
      i += take;
      if (state.remaining === 0) state.headerBytes = 0;
    }
    return out;
  };
  return {
    transform,
    arm(pick: (type: number, plen: number) => number | undefined) {
      armed = pick;
    },
    get corrupted() {
      return corrupted;
    },
  };
}
