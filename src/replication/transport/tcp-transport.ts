// Raft messages between processes over plain TCP (loopback in tests and
// benchmarks). Each node listens for inbound connections and keeps one
// outbound connection per peer, used only for sending; frames are
// length-prefixed and CRC-checked (frame.ts). Delivery is best-effort: a
// message for a peer that is unreachable, or whose socket is backed up past
// a limit, is dropped — Raft retransmits. A broken or corrupt connection is
// closed and redialled after a short delay.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from './frame.js';
import { decodeMessage, encodeMessage } from './message-codec.js';
import type { Message, NodeId } from '../raft/types.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface Transport {
  send(messages: readonly Message[]): void;
  onMessage(handler: (m: Message) => void): void;
  close(): Promise<void>;
}

export interface TcpTransportOptions {
  readonly host?: string;
  /** 0 picks a free port (see address()). */
  readonly port: number;
  readonly peers?: ReadonlyMap<NodeId, PeerAddress>;
  /** Drop messages to a peer whose socket has more than this many bytes queued. */
  readonly queuedBytesMax?: number;
  readonly redialDelayMs?: number;
  /** Called for dropped connections and bad frames (for logs). */
  readonly onError?: (error: Error) => void;
}

interface Outbound {
  /** Set while dialling too: Node buffers writes until the connection is up. */
  socket: Socket | null;
  /** After a failure, no redial until this fires (messages meanwhile are dropped). */
  redialTimer: NodeJS.Timeout | null;
}

export class TcpTransport implements Transport {
  private readonly server: Server;
  private readonly inbound = new Set<Socket>();
  private readonly outbound = new Map<NodeId, Outbound>();
  private peers = new Map<NodeId, PeerAddress>();
  private handler: (m: Message) => void = () => {};
  private closed = false;
  private readonly queuedBytesMax: number;
  private readonly redialDelayMs: number;
  private readonly onError: (error: Error) => void;
  droppedMessages = 0;

  private constructor(server: Server, options: TcpTransportOptions) {
    this.server = server;
    this.queuedBytesMax = options.queuedBytesMax ?? 64 * 1024 * 1024;
    this.redialDelayMs = options.redialDelayMs ?? 50;
    this.onError = options.onError ?? (() => {});
    if (options.peers !== undefined) this.setPeers(options.peers);
  }

  static async listen(options: TcpTransportOptions): Promise<TcpTransport> {
    const server = createServer();
    const transport = new TcpTransport(server, options);
    server.on('connection', (socket) => transport.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return transport;
  }

  address(): PeerAddress {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('transport is not listening on TCP');
    return { host: a.address, port: a.port };
  }

  /** Replace the peer address book; connections to moved peers are redialled. */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    for (const [id, addr] of peers) {
      const old = this.peers.get(id);
      if (old !== undefined && (old.host !== addr.host || old.port !== addr.port)) this.dropOutbound(id);
    }
    this.peers = new Map(peers);
  }

  onMessage(handler: (m: Message) => void): void {
    this.handler = handler;
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    // One corked write per peer and batch: a single writev syscall, not two writes per message.
    const corked = new Set<Socket>();
    for (const m of messages) {
      const out = this.outboundFor(m.to);
      const socket = out?.socket;
      if (socket == null || socket.writableLength > this.queuedBytesMax) {
        this.droppedMessages++;
        continue;
      }
      if (!corked.has(socket)) {
        socket.cork();
        corked.add(socket);
      }
      for (const part of encodeFrame(encodeMessage(m))) socket.write(part);
    }
    for (const socket of corked) socket.uncork();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const id of [...this.outbound.keys()]) this.dropOutbound(id);
    for (const s of this.inbound) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.inbound.add(socket);
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      let messages: Message[];
      try {
        messages = decoder.push(chunk).map(decodeMessage);
      } catch (error) {
        // Bad bytes from a peer: drop the connection (it redials). Errors thrown
        // by the handler below are our own bugs and must not be swallowed here.
        this.onError(error as Error);
        socket.destroy();
        return;
      }
      for (const m of messages) this.handler(m);
    });
    socket.on('error', (error) => this.onError(error));
    socket.on('close', () => this.inbound.delete(socket));
  }

  private outboundFor(id: NodeId): Outbound | undefined {
    let out = this.outbound.get(id);
    if (out === undefined) {
      if (!this.peers.has(id)) return undefined;
      out = { socket: null, redialTimer: null };
      this.outbound.set(id, out);
    }
    if (out.socket === null && out.redialTimer === null) this.dial(id, out);
    return out;
  }

  private dial(id: NodeId, out: Outbound): void {
    const addr = this.peers.get(id);
    if (addr === undefined || this.closed) return;
    const socket = connect({ host: addr.host, port: addr.port });
    socket.setNoDelay(true);
    out.socket = socket;
    // Outbound sockets only send; anything received is ignored.
    socket.on('data', () => {});
    socket.on('error', (error) => this.onError(error));
    socket.on('close', () => {
      if (this.outbound.get(id) !== out) return;
      out.socket = null;
      if (!this.closed && out.redialTimer === null) {
        out.redialTimer = setTimeout(() => {
          out.redialTimer = null;
        }, this.redialDelayMs);
      }
    });
  }

  private dropOutbound(id: NodeId): void {
    const out = this.outbound.get(id);
    if (out === undefined) return;
    this.outbound.delete(id);
    if (out.redialTimer !== null) clearTimeout(out.redialTimer);
    out.socket?.destroy();
  }
}
