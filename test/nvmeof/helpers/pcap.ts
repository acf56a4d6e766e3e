// Packet captures for the conformance tests, in both directions:
// - readTcpStreams(pcapng): the byte stream of each TCP connection direction in
//   a capture (Ethernet/IPv4/TCP, reassembled by sequence number), so recorded
//   SPDK sessions can be replayed and decoded;
// - writePcap(connections): a classic pcap (LINKTYPE_RAW, IPv4/TCP with real
//   checksums and a full handshake) built from byte streams a test recorded,
//   for tshark to decode.
import { readFileSync } from 'node:fs';

export interface TcpStream {
  /** "clientPort>serverPort" of the connection; client = the side that sent SYN. */
  clientPort: number;
  serverPort: number;
  /** Bytes the client sent, and the server sent, in order. */
  toServer: Buffer;
  toClient: Buffer;
  /** Order in which payload segments appeared, for interleaved replay. */
  segments: Array<{ fromClient: boolean; payload: Buffer }>;
}

/** Parses a pcapng file with Ethernet frames; returns one entry per TCP connection (in SYN order). */
export function readTcpStreams(path: string): TcpStream[] {
  const file = readFileSync(path);
  const streams = new Map<string, TcpStream & { nextSeq: { c?: number; s?: number } }>();
  const order: string[] = [];
  let offset = 0;
  let littleEndian = true;
  while (offset + 12 <= file.length) {
    const type = file.readUInt32LE(offset);
    if (type === 0x0a0d0d0a) littleEndian = file.readUInt32LE(offset + 8) === 0x1a2b3c4d;
    const u32 = (at: number) => (littleEndian ? file.readUInt32LE(at) : file.readUInt32BE(at));
    const blockLength = u32(offset + 4);
    if (blockLength < 12 || offset + blockLength > file.length) throw new Error(`bad pcapng block at ${offset}`);
    if (u32(offset) === 6) {
      const capturedBytes = u32(offset + 20);
      const frame = file.subarray(offset + 28, offset + 28 + capturedBytes);
      addFrame(frame, streams, order);
    }
    offset += blockLength;
  }
  return order.map((key) => {
    const { nextSeq: _unused, ...stream } = streams.get(key)!;
    return stream;
  });
}

function addFrame(frame: Buffer, streams: Map<string, TcpStream & { nextSeq: { c?: number; s?: number } }>, order: string[]): void {
  if (frame.length < 14 || frame.readUInt16BE(12) !== 0x0800) return;
  const ip = frame.subarray(14);
  if (ip[9] !== 6) return;
  const ipHeaderBytes = (ip[0]! & 0x0f) * 4;
  const totalBytes = ip.readUInt16BE(2);
  const tcp = ip.subarray(ipHeaderBytes, totalBytes);
  const sourcePort = tcp.readUInt16BE(0);
  const destinationPort = tcp.readUInt16BE(2);
  const seq = tcp.readUInt32BE(4);
  const flags = tcp[13]!;
  const payload = tcp.subarray((tcp[12]! >> 4) * 4);
  const syn = (flags & 0x02) !== 0;
  const ack = (flags & 0x10) !== 0;
  const keyAB = `${sourcePort}>${destinationPort}`;
  const keyBA = `${destinationPort}>${sourcePort}`;
  if (syn && !ack && !streams.has(keyAB)) {
    streams.set(keyAB, { clientPort: sourcePort, serverPort: destinationPort, toServer: Buffer.alloc(0), toClient: Buffer.alloc(0), segments: [], nextSeq: { c: seq + 1 } });
    order.push(keyAB);
    return;
  }
  const asClient = streams.get(keyAB);
  const asServer = streams.get(keyBA);
  const stream = asClient ?? asServer;
  if (!stream) return;
  const fromClient = asClient !== undefined;
  if (syn) {
    if (!fromClient) stream.nextSeq.s = seq + 1;
    return;
  }
  if (payload.length === 0) return;
  const expected = fromClient ? stream.nextSeq.c : stream.nextSeq.s;
  // Skip retransmissions (loopback captures have none, but be safe).
  if (expected !== undefined && seq !== expected) {
    if (((seq - expected) | 0) < 0) return;
    throw new Error(`gap in TCP stream ${keyAB}: expected seq ${expected}, got ${seq}`);
  }
  if (fromClient) {
    stream.toServer = Buffer.concat([stream.toServer, payload]);
    stream.nextSeq.c = (seq + payload.length) >>> 0;
  } else {
    stream.toClient = Buffer.concat([stream.toClient, payload]);
    stream.nextSeq.s = (seq + payload.length) >>> 0;
  }
  stream.segments.push({ fromClient, payload: Buffer.from(payload) });
}

/** Splits a byte stream into PDUs by their PLEN (the stream must hold whole PDUs). */
export function splitPdus(stream: Buffer): Buffer[] {
  const pdus: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= stream.length) {
    const plen = stream.readUInt32LE(offset + 4);
    if (plen < 8 || offset + plen > stream.length) throw new Error(`PDU at ${offset} has PLEN ${plen} past the stream end ${stream.length}`);
    pdus.push(stream.subarray(offset, offset + plen));
    offset += plen;
  }
  if (offset !== stream.length) throw new Error(`${stream.length - offset} trailing bytes after the last PDU`);
  return pdus;
}

// ---------------------------------------------------------------------------
// Writing

export interface RecordedConnection {
  clientPort: number;
  serverPort: number;
  /** Chunks in the order they crossed the proxy. */
  chunks: Array<{ fromClient: boolean; bytes: Buffer }>;
}

function checksum(buffers: Buffer[]): number {
  let sum = 0;
  for (const buffer of buffers) {
    for (let i = 0; i + 1 < buffer.length; i += 2) sum += buffer.readUInt16BE(i);
    if (buffer.length % 2 === 1) sum += buffer[buffer.length - 1]! << 8;
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const LOOPBACK = Buffer.from([127, 0, 0, 1]);
const SEGMENT_BYTES_MAX = 32 * 1024;

function packet(fromClient: boolean, connection: RecordedConnection, seq: number, ack: number, flags: number, payload: Buffer): Buffer {
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(fromClient ? connection.clientPort : connection.serverPort, 0);
  tcp.writeUInt16BE(fromClient ? connection.serverPort : connection.clientPort, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(ack >>> 0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  tcp.writeUInt16BE(65535, 14);
  const pseudo = Buffer.alloc(12);
  LOOPBACK.copy(pseudo, 0);
  LOOPBACK.copy(pseudo, 4);
  pseudo[9] = 6;
  pseudo.writeUInt16BE(20 + payload.length, 10);
  tcp.writeUInt16BE(checksum([pseudo, tcp, payload]), 16);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + payload.length, 2);
  ip.writeUInt16BE(0x4000, 6); // don't fragment
  ip[8] = 64;
  ip[9] = 6;
  LOOPBACK.copy(ip, 12);
  LOOPBACK.copy(ip, 16);
  ip.writeUInt16BE(checksum([ip]), 10);
  return Buffer.concat([ip, tcp, payload]);
}

/** A classic pcap (LINKTYPE_RAW = 101) of the recorded connections, one after another. */
export function writePcap(connections: RecordedConnection[]): Buffer {
  const records: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(262144, 16);
  global.writeUInt32LE(101, 20);
  records.push(global);
  let clockUs = 1_700_000_000_000_000;
  const add = (data: Buffer) => {
    clockUs += 10;
    const header = Buffer.alloc(16);
    header.writeUInt32LE(Math.floor(clockUs / 1e6), 0);
    header.writeUInt32LE(clockUs % 1e6, 4);
    header.writeUInt32LE(data.length, 8);
    header.writeUInt32LE(data.length, 12);
    records.push(header, data);
  };
  for (const connection of connections) {
    let clientSeq = 1000;
    let serverSeq = 5000;
    add(packet(true, connection, clientSeq, 0, 0x02, Buffer.alloc(0)));
    add(packet(false, connection, serverSeq, clientSeq + 1, 0x12, Buffer.alloc(0)));
    clientSeq += 1;
    serverSeq += 1;
    add(packet(true, connection, clientSeq, serverSeq, 0x10, Buffer.alloc(0)));
    for (const chunk of connection.chunks) {
      for (let offset = 0; offset < chunk.bytes.length; offset += SEGMENT_BYTES_MAX) {
        const payload = chunk.bytes.subarray(offset, offset + SEGMENT_BYTES_MAX);
        if (chunk.fromClient) {
          add(packet(true, connection, clientSeq, serverSeq, 0x18, payload));
          clientSeq += payload.length;
        } else {
          add(packet(false, connection, serverSeq, clientSeq, 0x18, payload));
          serverSeq += payload.length;
        }
      }
    }
    add(packet(true, connection, clientSeq, serverSeq, 0x11, Buffer.alloc(0)));
    add(packet(false, connection, serverSeq, clientSeq + 1, 0x11, Buffer.alloc(0)));
    add(packet(true, connection, clientSeq + 1, serverSeq + 1, 0x10, Buffer.alloc(0)));
  }
  return Buffer.concat(records);
}
