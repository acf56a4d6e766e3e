// Raw signed HTTP requests for tests that need control the SDKs do not give:
// exact headers, wrong lengths, truncated bodies, hand-built XML. Signing uses
// @smithy/signature-v4 (the AWS SDK's signer), independent of Strata's verifier.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import type { StrataProcess } from './server-process.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** The <Code> of an S3 error body, if any. */
  code?: string;
}

export interface RawRequest {
  method: string;
  /** Path including the bucket, already percent-encoded as it should go on the wire. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Sign x-amz-content-sha256: UNSIGNED-PAYLOAD instead of the body hash. */
  unsignedPayload?: boolean;
  /** Skip signing entirely (anonymous). */
  anonymous?: boolean;
  /** Write these bytes instead of `body` (e.g. fewer than Content-Length), then end or destroy. */
  wireBody?: Buffer;
  destroyAfterWrite?: boolean;
  signingDate?: Date;
  secretAccessKey?: string;
}

export async function signHeaders(server: StrataProcess, input: RawRequest): Promise<Record<string, string>> {
  const body = typeof input.body === 'string' ? Buffer.from(input.body) : input.body;
  const headers: Record<string, string> = { host: `127.0.0.1:${server.port}`, ...input.headers };
  if (input.anonymous) return headers;
  if (input.unsignedPayload) headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  const signer = new SignatureV4({
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: input.secretAccessKey ?? server.secretAccessKey },
    region: 'us-east-1',
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
    applyChecksum: !input.unsignedPayload,
  });
  const signed = await signer.sign(
    {
      method: input.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: server.port,
      path: input.path,
      query: input.query ?? {},
      headers,
      ...(body !== undefined ? { body } : {}),
    },
    input.signingDate ? { signingDate: input.signingDate } : {},
  );
  return signed.headers as Record<string, string>;
}

export async function rawRequest(server: StrataProcess, input: RawRequest): Promise<RawResponse> {
  const body = typeof input.body === 'string' ? Buffer.from(input.body) : input.body;
  const headers = await signHeaders(server, input);
  if (body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  const query = new URLSearchParams(input.query ?? {}).toString().replace(/\+/g, '%20');
  return new Promise<RawResponse>((resolve, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port: server.port, method: input.method, path: query ? `${input.path}?${query}` : input.path, headers },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (chunk: Buffer) => parts.push(chunk));
        response.on('end', () => {
          const all = Buffer.concat(parts);
          const text = all.toString('utf8');
          const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: all, text, ...(code ? { code } : {}) });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    const wire = input.wireBody ?? body;
    if (wire !== undefined) request.write(wire);
    if (input.destroyAfterWrite) {
      setTimeout(() => {
        request.destroy();
        resolve({ status: 0, headers: {}, body: Buffer.alloc(0), text: 'client closed' });
      }, 100);
      return;
    }
    request.end();
  });
}
