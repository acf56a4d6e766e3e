// Goal: a flipped byte in the backing file makes the read of that extent fail
// with BlobCorruptError (and counts it) instead of returning wrong bytes;
// bytes of intact extents before it are still right, and ranges that do not
// touch the damaged extent still read.
import t from 'tap';
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { BlobCorruptError, type Extent } from '../../src/backends/tier-store.js';
import { ENGINE_KINDS, patternBytes } from './helpers.js';
import { EXTENT_BYTES, openTestTier, readRange, settledFreeSlots, writeBlob } from './nvme-helpers.js';

// Bound the whole file in time; each child process and temp dir is cleaned up by its test.
t.setTimeout(60000);

function flipByte(path: string, position: number): void {
  const fd = openSync(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, position);
    byte[0] = byte[0]! ^ 0x5a;
    writeSync(fd, byte, 0, 1, position);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function collect(stream: NodeJS.ReadableStream): Promise<{ bytes: Buffer; error: unknown }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { bytes: Buffer.concat(chunks), error: undefined };
  } catch (error) {
    return { bytes: Buffer.concat(chunks), error };
  }
}

for (const engine of ENGINE_KINDS) {
  t.test(`${engine}: corruption is detected, never served`, async (t) => {
    const f = await openTestTier(engine);
    t.teardown(f.cleanup);
    const size = 3 * EXTENT_BYTES + 1000; // the last extent has an unaligned tail
    const data = patternBytes(`corrupt-${engine}`, size);
    const ref = await writeBlob(f.tier, data, { chunkBytes: 65536 });
    if (ref.tier !== 'nvme') throw new Error('wrong tier');
    const extents: Extent[] = ref.extents;
    t.equal(extents.length, 4);

    flipByte(f.path, extents[1]!.offset + 12345);
    const whole = await collect(f.tier.createReadStream(ref, { start: 0, end: size }));
    t.type(whole.error, BlobCorruptError, 'the read fails');
    t.match(String(whole.error), new RegExp(`extent at offset ${extents[1]!.offset}`));
    t.ok(whole.bytes.length <= EXTENT_BYTES, 'nothing from the damaged extent was returned');
    t.ok(whole.bytes.equals(data.subarray(0, whole.bytes.length)), 'what came before it is right');

    const inside = await collect(f.tier.createReadStream(ref, { start: EXTENT_BYTES + 10, end: EXTENT_BYTES + 20 }));
    t.type(inside.error, BlobCorruptError, 'a 10-byte range inside the damaged extent fails too');
    t.equal(inside.bytes.length, 0);

    t.ok((await readRange(f.tier, ref, 2 * EXTENT_BYTES, size)).equals(data.subarray(2 * EXTENT_BYTES)), 'intact extents still read');

    flipByte(f.path, extents[3]!.offset + 999); // last payload byte of the tail
    const tail = await collect(f.tier.createReadStream(ref, { start: size - 1, end: size }));
    t.type(tail.error, BlobCorruptError, 'the last byte of an unaligned tail is covered');
    t.equal(f.tier.details().corruptReads, 3, 'each failed read is counted');
    t.same(await settledFreeSlots(f.tier), { free: 16, total: 16 }, 'failed reads released their slots');
  });
}
