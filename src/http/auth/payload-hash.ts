// Verifies a body against the hex SHA-256 the client signed in
// x-amz-content-sha256. Bytes flow through as they arrive; the mismatch is
// raised at the end, before the object layer can commit anything.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../s3-errors.js';

export class PayloadHashVerifier extends Transform {
  private readonly hash: Hash = createHash('sha256');

  constructor(private readonly expectedHex: string) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.hash.digest('hex');
    if (actual !== this.expectedHex) {
      callback(
        new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", {
          ClientComputedContentSHA256: this.expectedHex,
          S3ComputedContentSHA256: actual,
        }),
      );
      return;
    }
    callback();
  }
}
