// A minimal SigV4 signer for the load generator: header auth with
// UNSIGNED-PAYLOAD, signing key cached per day. Kept tiny so the client's CPU
// cost is the same for every server under test.
import { createHash, createHmac } from 'node:crypto';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

const keys = new Map<string, Buffer>();

function signingKey(secret: string, date: string, region: string): Buffer {
  const cacheKey = `${secret}/${date}/${region}`;
  let key = keys.get(cacheKey);
  if (!key) {
    const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update('s3').digest();
    key = createHmac('sha256', kService).update('aws4_request').digest();
    keys.set(cacheKey, key);
  }
  return key;
}

/** Headers for a request whose path is URI-encoded; `canonicalQuery` is sorted and encoded ('' for none). */
export function signedHeaders(
  credentials: SigningCredentials,
  method: string,
  host: string,
  path: string,
  extra: Record<string, string> = {},
  canonicalQuery = '',
): Record<string, string> {
  const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate, ...extra };
  const names = Object.keys(headers).map((name) => name.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonical = [method, path, canonicalQuery, names.map((n) => `${n}:${lower[n]!.trim()}\n`).join(''), names.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
  const scope = `${date}/${credentials.region}/s3/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, date, credentials.region)).update(stringToSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}
