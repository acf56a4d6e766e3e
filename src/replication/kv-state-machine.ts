// A small key-value state machine for the real-process tests and benchmarks
// (the production state machine will be the LMDB metadata store). Commands:
//   put: [0x01][u16 key length][key UTF-8][value bytes]
//   del: [0x02][u16 key length][key UTF-8]
// apply() returns the index at which the command was applied. digest() is a
// CRC32C over the sorted contents, to compare replicas.
import { native } from '../backends/native.js';
import type { StateMachine } from './node.js';

export function encodePut(key: string, value: Buffer): Buffer {
  const k = Buffer.from(key);
  const out = Buffer.allocUnsafe(3 + k.length + value.length);
  out.writeUInt8(1, 0);
  out.writeUInt16BE(k.length, 1);
  k.copy(out, 3);
  value.copy(out, 3 + k.length);
  return out;
}

export function encodeDelete(key: string): Buffer {
  const k = Buffer.from(key);
  const out = Buffer.allocUnsafe(3 + k.length);
  out.writeUInt8(2, 0);
  out.writeUInt16BE(k.length, 1);
  k.copy(out, 3);
  return out;
}

export class KvStateMachine implements StateMachine<number> {
  readonly data = new Map<string, Buffer>();
  appliedIndex = 0;

  apply(entry: { index: number; data: Buffer }): number {
    const op = entry.data.readUInt8(0);
    const keyLength = entry.data.readUInt16BE(1);
    const key = entry.data.toString('utf8', 3, 3 + keyLength);
    if (op === 1) this.data.set(key, Buffer.from(entry.data.subarray(3 + keyLength)));
    else if (op === 2) this.data.delete(key);
    else throw new Error(`unknown kv op ${op} at index ${entry.index}`);
    this.appliedIndex = entry.index;
    return entry.index;
  }

  snapshot(): Buffer {
    const parts: Buffer[] = [];
    const head = Buffer.allocUnsafe(12);
    head.writeUIntBE(this.appliedIndex, 0, 6);
    head.writeUIntBE(this.data.size, 6, 6);
    parts.push(head);
    for (const [key, value] of this.data) {
      const k = Buffer.from(key);
      const h = Buffer.allocUnsafe(6);
      h.writeUInt16BE(k.length, 0);
      h.writeUInt32BE(value.length, 2);
      parts.push(h, k, value);
    }
    return Buffer.concat(parts);
  }

  restore(buf: Buffer): void {
    this.data.clear();
    this.appliedIndex = buf.readUIntBE(0, 6);
    const count = buf.readUIntBE(6, 6);
    let at = 12;
    for (let i = 0; i < count; i++) {
      const kl = buf.readUInt16BE(at);
      const vl = buf.readUInt32BE(at + 2);
      const key = buf.toString('utf8', at + 6, at + 6 + kl);
      this.data.set(key, Buffer.from(buf.subarray(at + 6 + kl, at + 6 + kl + vl)));
      at += 6 + kl + vl;
    }
  }

  digest(): number {
    let crc = 0;
    for (const key of [...this.data.keys()].sort()) {
      crc = native.crc32c(Buffer.from(key), crc);
      crc = native.crc32c(this.data.get(key)!, crc);
    }
    return crc;
  }
}
