// AWS Signature Version 4 for S3: the Authorization header form and presigned
// query form. We rebuild the canonical request from what arrived on the wire,
// sign it with the caller's secret and compare in constant time. The result
// tells the body decoders how the payload is protected.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../s3-errors.js';
import { headerText } from '../header-text.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600;

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Canonical id of the account the key belongs to. */
  ownerId: string;
  ownerDisplayName: string;
}

export interface CredentialStore {
  lookup(accessKeyId: string): Credentials | undefined;
}

/** What a request looks like to the signer: exactly the bytes that arrived. */
export interface SignedRequest {
  method: string;
  /** Path as sent, percent-encoding intact, without the query. */
  rawPath: string;
  /** Query as sent, without the '?'. */
  rawQuery: string;
  /** Node's rawHeaders: [name, value, name, value, ...]. */
  rawHeaders: string[];
  /** Lowercased single-valued view (Node's req.headers). */
  headers: Record<string, string | string[] | undefined>;
}

/** The key, date and scope that chunk and trailer signatures chain from. */
export interface SigningContext {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export type PayloadProtection =
  | { kind: 'sha256'; expectedHex: string }
  | { kind: 'unsigned' }
  | { kind: 'streaming-signed'; trailer: boolean; context: SigningContext }
  | { kind: 'streaming-unsigned-trailer' };

export interface AuthResult {
  credentials: Credentials;
  payload: PayloadProtection;
  presigned: boolean;
}

const signingKeys = new Map<string, Buffer>();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secret}\n${date}\n${region}\n${service}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update(service).digest();
    key = createHmac('sha256', kService).update('aws4_request').digest();
    if (signingKeys.size > 1000) signingKeys.clear();
    signingKeys.set(cacheKey, key);
  }
  return key;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmacHex(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

export function signaturesEqual(expectedHex: string, givenHex: string): boolean {
  if (expectedHex.length !== givenHex.length) return false;
  return timingSafeEqual(Buffer.from(expectedHex), Buffer.from(givenHex));
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ (and '/' when asked). */
export function awsUriEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(char) || (keepSlash && char === '/')) out += char;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeUriComponentStrict(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new S3Error('InvalidURI', 'Couldn\'t parse the specified URI.');
  }
}

function canonicalQuery(rawQuery: string, excludeSignature: boolean, plusIsSpace: boolean): string {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const decode = (text: string) => decodeUriComponentStrict(plusIsSpace ? text.replace(/\+/g, ' ') : text);
    const name = decode(rawName);
    if (excludeSignature && name === 'X-Amz-Signature') continue;
    pairs.push([awsUriEncode(name, false), awsUriEncode(decode(rawValue), false)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

function canonicalHeaders(rawHeaders: string[], signedHeaders: string[]): string {
  const values = new Map<string, string[]>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const list = values.get(name) ?? [];
    const value = headerText(rawHeaders[i + 1]!);
    list.push(value.trim().replace(/\s+/g, ' '));
    values.set(name, list);
  }
  return signedHeaders.map((name) => `${name}:${(values.get(name) ?? []).join(',')}\n`).join('');
}

/** The canonical URIs a client may have signed: the AWS-normalised one first, then the raw path. */
function canonicalUris(rawPath: string): string[] {
  const normalised = awsUriEncode(decodeUriComponentStrict(rawPath), true);
  return normalised === rawPath ? [normalised] : [normalised, rawPath];
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseCredential(credential: string, malformed: (message: string) => S3Error) {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request') {
    throw malformed(`the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  const [accessKeyId, date, region, service] = parts as [string, string, string, string];
  if (service !== 's3') throw malformed(`The authorization header is malformed; incorrect service "${service}". This endpoint belongs to "s3".`);
  if (!/^\d{8}$/.test(date)) throw malformed('the Credential date is mal-formed');
  return { accessKeyId, date, region, service };
}

function parseAuthorizationHeader(header: string): ParsedAuthorization {
  const malformed = (message: string) => new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${message}`);
  if (!header.startsWith(`${ALGORITHM} `)) {
    if (header.startsWith('AWS ')) {
      throw new S3Error(
        'InvalidRequest',
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      );
    }
    throw malformed('the authorization header requires the AWS4-HMAC-SHA256 algorithm.');
  }
  const fields = new Map<string, string>();
  for (const item of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = item.indexOf('=');
    if (eq > 0) fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature) {
    throw malformed('the authorization header requires Credential, SignedHeaders and Signature.');
  }
  return { ...parseCredential(credential, malformed), signedHeaders: signedHeaders.split(';'), signature };
}

/** Parses YYYYMMDD'T'HHMMSS'Z'. */
export function parseAmzDate(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}

function toAmzDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function headerValue(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function payloadProtection(hashHeader: string | undefined, context: SigningContext): PayloadProtection {
  switch (hashHeader) {
    case undefined:
      // Signed as if the payload were empty (AWS insists on the header; we accept
      // its absence only for requests whose body then must be empty).
      return { kind: 'sha256', expectedHex: EMPTY_SHA256 };
    case 'UNSIGNED-PAYLOAD':
      return { kind: 'unsigned' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'streaming-signed', trailer: false, context };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming-signed', trailer: true, context };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming-unsigned-trailer' };
    default:
      if (!/^[0-9a-f]{64}$/.test(hashHeader)) {
        throw new S3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a hex SHA-256.', {
          ArgumentName: 'x-amz-content-sha256',
        });
      }
      return { kind: 'sha256', expectedHex: hashHeader };
  }
}

export interface AuthOptions {
  credentials: CredentialStore;
  now?: () => number;
}

/** Authenticates a request, or throws the S3Error AWS would answer with. */
export function authenticate(request: SignedRequest, options: AuthOptions): AuthResult {
  const now = options.now?.() ?? Date.now();
  const header = headerValue(request.headers, 'authorization');
  const query = new URLSearchParams(request.rawQuery);
  if (header !== undefined) return authenticateHeader(request, header, options.credentials, now);
  if (query.has('X-Amz-Signature') || query.has('X-Amz-Credential')) {
    return authenticatePresigned(request, query, options.credentials, now);
  }
  if (query.has('Signature') && query.has('AWSAccessKeyId')) {
    throw new S3Error('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
  }
  throw new S3Error('AccessDenied', 'Access Denied');
}

function lookupCredentials(store: CredentialStore, accessKeyId: string): Credentials {
  const credentials = store.lookup(accessKeyId);
  if (!credentials) {
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
      AWSAccessKeyId: accessKeyId,
    });
  }
  return credentials;
}

function verifySignature(
  request: SignedRequest,
  parsed: ParsedAuthorization,
  credentials: Credentials,
  amzDate: string,
  payloadHash: string,
  presigned: boolean,
): Buffer {
  const key = signingKey(credentials.secretAccessKey, parsed.date, parsed.region, parsed.service);
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/aws4_request`;
  const headersPart = canonicalHeaders(request.rawHeaders, parsed.signedHeaders);
  const signedHeaders = parsed.signedHeaders.join(';');
  let lastCanonical = '';
  for (const uri of canonicalUris(request.rawPath)) {
    for (const plusIsSpace of [false, true]) {
      if (plusIsSpace && !request.rawQuery.includes('+')) continue;
      const canonicalRequest = [
        request.method,
        uri,
        canonicalQuery(request.rawQuery, presigned, plusIsSpace),
        headersPart,
        signedHeaders,
        payloadHash,
      ].join('\n');
      lastCanonical = canonicalRequest;
      const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
      if (signaturesEqual(hmacHex(key, stringToSign), parsed.signature)) return key;
    }
  }
  throw new S3Error(
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    { AWSAccessKeyId: credentials.accessKeyId, CanonicalRequest: lastCanonical },
  );
}

function authenticateHeader(request: SignedRequest, header: string, store: CredentialStore, now: number): AuthResult {
  const parsed = parseAuthorizationHeader(header);
  const amzDate = headerValue(request.headers, 'x-amz-date');
  let requestDate: Date | undefined;
  let dateText: string;
  if (amzDate !== undefined) {
    requestDate = parseAmzDate(amzDate);
    dateText = amzDate;
  } else {
    const httpDate = headerValue(request.headers, 'date');
    requestDate = httpDate ? new Date(httpDate) : undefined;
    dateText = requestDate && !Number.isNaN(requestDate.getTime()) ? toAmzDate(requestDate) : '';
  }
  if (!requestDate || Number.isNaN(requestDate.getTime())) {
    throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  if (Math.abs(requestDate.getTime() - now) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: dateText,
      ServerTime: new Date(now).toISOString(),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }
  if (dateText.slice(0, 8) !== parsed.date) {
    throw new S3Error('SignatureDoesNotMatch', 'The credential date does not match the request date.');
  }
  const credentials = lookupCredentials(store, parsed.accessKeyId);
  const payloadHash = headerValue(request.headers, 'x-amz-content-sha256');
  const key = verifySignature(request, parsed, credentials, dateText, payloadHash ?? EMPTY_SHA256, false);
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/aws4_request`;
  const context: SigningContext = { signingKey: key, amzDate: dateText, scope, seedSignature: parsed.signature };
  return { credentials, payload: payloadProtection(payloadHash, context), presigned: false };
}

function authenticatePresigned(request: SignedRequest, query: URLSearchParams, store: CredentialStore, now: number): AuthResult {
  const malformed = (message: string) => new S3Error('AuthorizationQueryParametersError', message);
  const algorithm = query.get('X-Amz-Algorithm');
  const credential = query.get('X-Amz-Credential');
  const amzDate = query.get('X-Amz-Date');
  const expiresText = query.get('X-Amz-Expires');
  const signedHeaders = query.get('X-Amz-SignedHeaders');
  const signature = query.get('X-Amz-Signature');
  if (algorithm !== ALGORITHM) throw malformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  if (!credential || !amzDate || !signedHeaders || !signature || expiresText === null) {
    throw malformed(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const parsed = { ...parseCredential(credential, malformed), signedHeaders: signedHeaders.split(';'), signature };
  const requestDate = parseAmzDate(amzDate);
  if (!requestDate) throw malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  const expiresSeconds = Number(expiresText);
  if (!/^\d+$/.test(expiresText) || expiresSeconds < 1) throw malformed('X-Amz-Expires must be a positive integer');
  if (expiresSeconds > MAX_PRESIGN_EXPIRES_S) {
    throw malformed('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  }
  if (requestDate.getTime() - now > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
  if (now > requestDate.getTime() + expiresSeconds * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      Expires: new Date(requestDate.getTime() + expiresSeconds * 1000).toISOString(),
      ServerTime: new Date(now).toISOString(),
    });
  }
  if (amzDate.slice(0, 8) !== parsed.date) throw new S3Error('SignatureDoesNotMatch', 'The credential date does not match X-Amz-Date.');
  const credentials = lookupCredentials(store, parsed.accessKeyId);
  const payloadHash = query.get('X-Amz-Content-Sha256') ?? headerValue(request.headers, 'x-amz-content-sha256') ?? 'UNSIGNED-PAYLOAD';
  const key = verifySignature(request, parsed, credentials, amzDate, payloadHash, true);
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/aws4_request`;
  const context: SigningContext = { signingKey: key, amzDate, scope, seedSignature: signature };
  return { credentials, payload: payloadProtection(payloadHash, context), presigned: true };
}
