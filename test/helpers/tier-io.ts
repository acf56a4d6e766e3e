// Writing and reading whole blobs through any TierStore, in odd-sized chunks
// (so writers see unaligned appends), for the tier test suites.
import type { BlobRef, BlobWriter, TierStore } from '../../src/backends/tier-store.js';

export async function writeChunks(writer: BlobWriter, data: Buffer, chunkBytes = 7777): Promise<void> {
  for (let offset = 0; offset < data.length; offset += chunkBytes) {
    await writer.write(data.subarray(offset, Math.min(data.length, offset + chunkBytes)));
  }
}

export async function readRange(tier: TierStore, ref: BlobRef, start = 0, end = ref.size): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of tier.createReadStream(ref, { start, end })) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
