// Length-prefixed, CRC-checked frames on a byte stream:
// [u32 payload length][u32 CRC32C(payload)][payload]. FrameDecoder collects
// stream chunks and yields whole payloads; a bad length or checksum is a
// FrameError and the connection must be dropped (Raft retransmits).
import { native } from '../../backends/native.js';

export const FRAME_BYTES_MAX = 512 * 1024 * 1024;

export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export function encodeFrame(payload: Buffer): Buffer[] {
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(native.crc32c(payload, 0), 4);
  return [header, payload];
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** Feed bytes; returns the payloads completed by them. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.buffered < 8) break;
      const head = this.peek(8);
      const length = head.readUInt32BE(0);
      if (length > FRAME_BYTES_MAX) throw new FrameError(`frame of ${length} bytes exceeds the limit`);
      if (this.buffered < 8 + length) break;
      const frame = this.take(8 + length);
      const payload = frame.subarray(8);
      if (native.crc32c(payload, 0) !== head.readUInt32BE(4)) throw new FrameError('frame checksum mismatch');
      out.push(payload);
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!;
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}
