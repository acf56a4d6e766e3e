// Snapshot files: snap-<index>-<term>.snap, each [magic "RSNP"][u32 CRC32C of
// the rest][u32 meta length][meta JSON][state machine bytes], written to a
// temp file, fdatasync'd, renamed and the directory fsync'd. The newest file
// that verifies is loaded; a damaged one is skipped for the one before it.
// The last two are kept.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { native } from '../../backends/native.js';
import { unlinkIfExists, writeFileDurable } from './fsutil.js';
import type { Snapshot, SnapshotMeta } from '../raft/types.js';

const MAGIC = Buffer.from('RSNP');
const SNAPSHOTS_KEPT = 2;

function fileName(meta: SnapshotMeta): string {
  return `snap-${meta.index.toString().padStart(16, '0')}-${meta.term.toString().padStart(16, '0')}.snap`;
}

export function encodeSnapshot(s: Snapshot): Buffer {
  const meta = Buffer.from(JSON.stringify(s.meta));
  const body = Buffer.allocUnsafe(4 + meta.length + s.data.length);
  body.writeUInt32BE(meta.length, 0);
  meta.copy(body, 4);
  s.data.copy(body, 4 + meta.length);
  const header = Buffer.allocUnsafe(8);
  MAGIC.copy(header, 0);
  header.writeUInt32BE(native.crc32c(body, 0), 4);
  return Buffer.concat([header, body]);
}

export function decodeSnapshot(buf: Buffer): Snapshot | null {
  if (buf.length < 12 || !buf.subarray(0, 4).equals(MAGIC)) return null;
  const body = buf.subarray(8);
  if (native.crc32c(body, 0) !== buf.readUInt32BE(4)) return null;
  const metaLength = body.readUInt32BE(0);
  if (4 + metaLength > body.length) return null;
  const meta = JSON.parse(body.subarray(4, 4 + metaLength).toString()) as SnapshotMeta;
  return { meta, data: Buffer.from(body.subarray(4 + metaLength)) };
}

export class SnapshotStore {
  constructor(readonly dir: string) {}

  async save(s: Snapshot): Promise<void> {
    await writeFileDurable(this.dir, fileName(s.meta), encodeSnapshot(s));
    const names = await this.names();
    for (const old of names.slice(0, Math.max(0, names.length - SNAPSHOTS_KEPT))) await unlinkIfExists(join(this.dir, old));
  }

  /** The newest snapshot that verifies, or null. */
  async loadNewest(): Promise<{ snapshot: Snapshot | null; skipped: string[] }> {
    const skipped: string[] = [];
    const names = await this.names();
    for (const name of names.reverse()) {
      const s = decodeSnapshot(await readFile(join(this.dir, name)));
      if (s !== null) return { snapshot: s, skipped };
      skipped.push(name);
    }
    return { snapshot: null, skipped };
  }

  private async names(): Promise<string[]> {
    return (await readdir(this.dir)).filter((n) => /^snap-\d{16}-\d{16}\.snap$/.test(n)).sort();
  }
}
