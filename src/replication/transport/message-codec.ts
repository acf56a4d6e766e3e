// Binary encoding of Raft messages for the wire. Layout: [u8 type][u32 from]
// [u32 to][u48 term] then the type's fields; integers big-endian, indexes and
// terms 48-bit, strings u16-length-prefixed UTF-8, byte strings u32-prefixed.
// decodeMessage() validates lengths and throws MessageDecodeError on bad input
// (the transport drops the connection).
import type { ConfState, Entry, EntryType, Message, NodeId, Snapshot } from '../raft/types.js';

export class MessageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageDecodeError';
  }
}

const TYPES = [
  'Vote',
  'PreVote',
  'VoteResp',
  'PreVoteResp',
  'App',
  'AppResp',
  'Heartbeat',
  'HeartbeatResp',
  'Snap',
  'ReadIndex',
  'ReadIndexResp',
  'TimeoutNow',
  'TransferLeader',
] as const satisfies readonly Message['type'][];

class Writer {
  private chunks: Buffer[] = [];
  private head = Buffer.allocUnsafe(64);
  private used = 0;

  private room(n: number): void {
    if (this.used + n <= this.head.length) return;
    this.flush();
    this.head = Buffer.allocUnsafe(Math.max(64, n));
  }
  private flush(): void {
    if (this.used > 0) this.chunks.push(this.head.subarray(0, this.used));
    this.head = Buffer.allocUnsafe(64);
    this.used = 0;
  }
  u8(v: number): void {
    this.room(1);
    this.head.writeUInt8(v, this.used);
    this.used += 1;
  }
  u16(v: number): void {
    this.room(2);
    this.head.writeUInt16BE(v, this.used);
    this.used += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.head.writeUInt32BE(v, this.used);
    this.used += 4;
  }
  u48(v: number): void {
    this.room(6);
    this.head.writeUIntBE(v, this.used, 6);
    this.used += 6;
  }
  bytes(b: Buffer): void {
    this.u32(b.length);
    this.flush();
    this.chunks.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s);
    this.u16(b.length);
    this.flush();
    this.chunks.push(b);
  }
  finish(): Buffer {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new MessageDecodeError('message truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.at++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  u48(): number {
    this.need(6);
    const v = this.buf.readUIntBE(this.at, 6);
    this.at += 6;
    return v;
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
  str(): string {
    const n = this.u16();
    this.need(n);
    const s = this.buf.toString('utf8', this.at, this.at + n);
    this.at += n;
    return s;
  }
  end(): void {
    if (this.at !== this.buf.length) throw new MessageDecodeError('trailing bytes');
  }
}

export function encodeMessage(m: Message): Buffer {
  const w = new Writer();
  w.u8(TYPES.indexOf(m.type));
  w.u32(m.from);
  w.u32(m.to);
  w.u48(m.term);
  switch (m.type) {
    case 'Vote':
    case 'PreVote':
      w.u48(m.lastLogIndex);
      w.u48(m.lastLogTerm);
      w.u8(m.transfer ? 1 : 0);
      break;
    case 'VoteResp':
    case 'PreVoteResp':
      w.u8(m.reject ? 1 : 0);
      break;
    case 'App':
      w.u48(m.prevIndex);
      w.u48(m.prevTerm);
      w.u48(m.commit);
      w.u32(m.entries.length);
      for (const e of m.entries) {
        w.u48(e.index);
        w.u48(e.term);
        w.u8(e.type);
        w.bytes(e.data);
      }
      break;
    case 'AppResp':
      w.u48(m.index);
      w.u8(m.reject ? 1 : 0);
      w.u48(m.hintIndex);
      w.u48(m.hintTerm);
      break;
    case 'Heartbeat':
      w.u48(m.commit);
      w.str(m.context);
      break;
    case 'HeartbeatResp':
    case 'ReadIndex':
      w.str(m.context);
      break;
    case 'Snap':
      w.u48(m.snapshot.meta.index);
      w.u48(m.snapshot.meta.term);
      w.u16(m.snapshot.meta.conf.voters.length);
      for (const id of m.snapshot.meta.conf.voters) w.u32(id);
      w.bytes(m.snapshot.data);
      break;
    case 'ReadIndexResp':
      w.u48(m.index);
      w.str(m.context);
      break;
    case 'TimeoutNow':
      break;
    case 'TransferLeader':
      w.u32(m.target);
      break;
  }
  return w.finish();
}

export function decodeMessage(buf: Buffer): Message {
  const r = new Reader(buf);
  const type = TYPES[r.u8()];
  if (type === undefined) throw new MessageDecodeError('unknown message type');
  const from: NodeId = r.u32();
  const to: NodeId = r.u32();
  const term = r.u48();
  const base = { from, to, term };
  let m: Message;
  switch (type) {
    case 'Vote':
    case 'PreVote':
      m = { ...base, type, lastLogIndex: r.u48(), lastLogTerm: r.u48(), transfer: r.u8() === 1 };
      break;
    case 'VoteResp':
    case 'PreVoteResp':
      m = { ...base, type, reject: r.u8() === 1 };
      break;
    case 'App': {
      const prevIndex = r.u48();
      const prevTerm = r.u48();
      const commit = r.u48();
      const count = r.u32();
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) {
        entries.push({ index: r.u48(), term: r.u48(), type: r.u8() as EntryType, data: r.bytes() });
      }
      m = { ...base, type, prevIndex, prevTerm, commit, entries };
      break;
    }
    case 'AppResp':
      m = { ...base, type, index: r.u48(), reject: r.u8() === 1, hintIndex: r.u48(), hintTerm: r.u48() };
      break;
    case 'Heartbeat':
      m = { ...base, type, commit: r.u48(), context: r.str() };
      break;
    case 'HeartbeatResp':
    case 'ReadIndex':
      m = { ...base, type, context: r.str() };
      break;
    case 'Snap': {
      const index = r.u48();
      const snapTerm = r.u48();
      const voters: NodeId[] = [];
      for (let n = r.u16(); n > 0; n--) voters.push(r.u32());
      const conf: ConfState = { voters };
      const snapshot: Snapshot = { meta: { index, term: snapTerm, conf }, data: r.bytes() };
      m = { ...base, type, snapshot };
      break;
    }
    case 'ReadIndexResp':
      m = { ...base, type, index: r.u48(), context: r.str() };
      break;
    case 'TimeoutNow':
      m = { ...base, type };
      break;
    case 'TransferLeader':
      m = { ...base, type, target: r.u32() };
      break;
  }
  r.end();
  return m;
}
