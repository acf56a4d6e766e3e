// Decoder for `Content-Encoding: aws-chunked` bodies:
//   <hex-size>[;chunk-signature=<sig>]\r\n<bytes>\r\n ... 0[;chunk-signature=<sig>]\r\n
//   [<trailer-name>:<value>\r\n ...][x-amz-trailer-signature:<sig>\r\n]\r\n
// In the signed variants every chunk's signature (chained from the seed
// signature of the Authorization header) is checked before the chunk's bytes
// are passed on, and the trailer signature is checked before the stream ends.
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../s3-errors.js';
import { EMPTY_SHA256, hmacHex, sha256Hex, signaturesEqual, type SigningContext } from './sigv4.js';

const MAX_LINE_BYTES = 4096;
const MAX_SIGNED_CHUNK_BYTES = 16 * 1024 * 1024;
const MAX_TRAILER_BYTES = 16 * 1024;

export interface AwsChunkedOptions {
  /** Present for STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]; absent for unsigned. */
  signing?: SigningContext;
  /** Whether a trailer section is expected after the last chunk. */
  trailer: boolean;
  /** x-amz-decoded-content-length, checked at the end. */
  decodedLength?: number;
}

type State = 'size-line' | 'data' | 'data-crlf' | 'final-crlf' | 'trailer' | 'done';

function incomplete(message: string): S3Error {
  return new S3Error('IncompleteBody', message);
}

function signatureMismatch(): S3Error {
  return new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
}

export class AwsChunkedDecoder extends Transform {
  /** Trailing headers (lowercase names), available once the stream has ended. */
  readonly trailers = new Map<string, string>();
  private state: State = 'size-line';
  private pending: Buffer = Buffer.alloc(0);
  private chunkRemaining = 0;
  private chunkSignature: string | undefined;
  private chunkParts: Buffer[] = [];
  private chunkHash = createHash('sha256');
  private previousSignature: string | undefined;
  private decodedBytes = 0;
  private trailerBytes = 0;
  private trailerSignature: string | undefined;

  constructor(private readonly options: AwsChunkedOptions) {
    super();
    this.previousSignature = options.signing?.seedSignature;
  }

  override _transform(input: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.consume(this.pending.length > 0 ? Buffer.concat([this.pending, input]) : input);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      // Some clients end the body right after the last chunk or trailer line.
      if (this.state === 'trailer' && this.pending.length === 0) this.finishTrailer();
      if (this.state === 'final-crlf' && this.pending.length === 0) this.state = 'done';
      if (this.state !== 'done') throw incomplete('The aws-chunked body ended before its final chunk.');
      if (this.options.decodedLength !== undefined && this.decodedBytes !== this.options.decodedLength) {
        throw incomplete('The decoded body length does not match x-amz-decoded-content-length.');
      }
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  private consume(buffer: Buffer): void {
    let offset = 0;
    while (offset < buffer.length) {
      switch (this.state) {
        case 'size-line': {
          const end = buffer.indexOf('\r\n', offset);
          if (end < 0) return this.keep(buffer, offset, MAX_LINE_BYTES);
          this.startChunk(buffer.toString('latin1', offset, end));
          offset = end + 2;
          break;
        }
        case 'data': {
          const take = Math.min(this.chunkRemaining, buffer.length - offset);
          this.acceptData(buffer.subarray(offset, offset + take));
          offset += take;
          if (this.chunkRemaining === 0) this.state = 'data-crlf';
          break;
        }
        case 'data-crlf': {
          if (buffer.length - offset < 2) return this.keep(buffer, offset, 2);
          if (buffer[offset] !== 0x0d || buffer[offset + 1] !== 0x0a) throw incomplete('An aws-chunked chunk is not followed by CRLF.');
          offset += 2;
          this.endChunk();
          break;
        }
        case 'final-crlf': {
          if (buffer.length - offset < 2) return this.keep(buffer, offset, 2);
          if (buffer[offset] !== 0x0d || buffer[offset + 1] !== 0x0a) throw incomplete('The final aws-chunked chunk is not followed by CRLF.');
          offset += 2;
          this.state = 'done';
          break;
        }
        case 'trailer': {
          const end = buffer.indexOf('\r\n', offset);
          if (end < 0) return this.keep(buffer, offset, MAX_LINE_BYTES);
          const line = buffer.toString('utf8', offset, end);
          offset = end + 2;
          this.trailerBytes += line.length + 2;
          if (this.trailerBytes > MAX_TRAILER_BYTES) throw incomplete('The aws-chunked trailer is too large.');
          if (line === '') this.finishTrailer();
          else this.acceptTrailerLine(line);
          break;
        }
        case 'done':
          if (buffer.subarray(offset).toString('latin1').trim() !== '') {
            throw incomplete('Unexpected bytes after the end of an aws-chunked body.');
          }
          offset = buffer.length;
          break;
      }
    }
    this.pending = Buffer.alloc(0);
  }

  private keep(buffer: Buffer, offset: number, limit: number): void {
    const rest = buffer.subarray(offset);
    if (rest.length > limit) throw incomplete('An aws-chunked framing line is too long.');
    this.pending = Buffer.from(rest);
  }

  private startChunk(line: string): void {
    const [sizeText, ...extensions] = line.split(';');
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText ?? '')) throw incomplete('An aws-chunked chunk size is malformed.');
    this.chunkRemaining = parseInt(sizeText!, 16);
    this.chunkSignature = undefined;
    for (const extension of extensions) {
      const eq = extension.indexOf('=');
      if (eq > 0 && extension.slice(0, eq).trim() === 'chunk-signature') this.chunkSignature = extension.slice(eq + 1).trim();
    }
    if (this.options.signing) {
      if (this.chunkSignature === undefined) throw signatureMismatch();
      if (this.chunkRemaining > MAX_SIGNED_CHUNK_BYTES) throw incomplete('An aws-chunked chunk is larger than 16 MiB.');
    }
    if (this.chunkRemaining > 0) {
      this.state = 'data';
      return;
    }
    // The zero-length chunk ends the data; its signature covers the empty string.
    this.verifyChunk();
    this.state = this.options.trailer ? 'trailer' : 'final-crlf';
  }

  private acceptData(data: Buffer): void {
    this.chunkRemaining -= data.length;
    this.decodedBytes += data.length;
    if (!this.options.signing) {
      this.push(data);
      return;
    }
    // Hold the chunk until its signature checks out.
    this.chunkHash.update(data);
    this.chunkParts.push(data);
  }

  private endChunk(): void {
    if (this.options.signing) {
      this.verifyChunk();
      for (const part of this.chunkParts) this.push(part);
      this.chunkParts = [];
    }
    this.state = 'size-line';
  }

  private verifyChunk(): void {
    const signing = this.options.signing;
    if (!signing) return;
    const dataHash = this.chunkParts.length > 0 ? this.chunkHash.digest('hex') : EMPTY_SHA256;
    this.chunkHash = createHash('sha256');
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      signing.amzDate,
      signing.scope,
      this.previousSignature,
      EMPTY_SHA256,
      dataHash,
    ].join('\n');
    const expected = hmacHex(signing.signingKey, stringToSign);
    if (!signaturesEqual(expected, this.chunkSignature ?? '')) throw signatureMismatch();
    this.previousSignature = expected;
  }

  private acceptTrailerLine(line: string): void {
    const colon = line.indexOf(':');
    if (colon <= 0) throw incomplete('An aws-chunked trailer line is malformed.');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') this.trailerSignature = value;
    else this.trailers.set(name, value);
  }

  private finishTrailer(): void {
    const signing = this.options.signing;
    if (signing) {
      if (this.trailerSignature === undefined) throw signatureMismatch();
      const canonical = [...this.trailers].map(([name, value]) => `${name}:${value}\n`).join('');
      const stringToSign = [
        'AWS4-HMAC-SHA256-TRAILER',
        signing.amzDate,
        signing.scope,
        this.previousSignature,
        sha256Hex(canonical),
      ].join('\n');
      if (!signaturesEqual(hmacHex(signing.signingKey, stringToSign), this.trailerSignature)) throw signatureMismatch();
    }
    this.state = 'done';
  }
}
