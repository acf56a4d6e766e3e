// The Fastify application: one catch-all route hands every S3 request to the
// pure router, authenticates it, and dispatches to the handler table. Bodies
// are never parsed by Fastify: handlers stream request.raw themselves. Errors
// of every kind leave as S3 error XML from the single error handler.
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { authenticate, type CredentialStore } from './auth/sigv4.js';
import type { HttpServices, S3Context } from './context.js';
import { handlers } from './handlers/index.js';
import { MAX_HEADER_BYTES, MAX_URL_BYTES } from './limits.js';
import { HttpMetrics } from './metrics.js';
import { parseS3Request, type S3OperationName } from './router.js';
import { errorXml, S3Error, toS3Error } from './s3-errors.js';

export interface AppOptions {
  services: HttpServices;
  credentials: CredentialStore;
  /** Base domain for virtual-host-style requests (bucket.domain). */
  domain?: string;
  health: () => unknown;
  metricsExtra?: () => string[];
  log?: (message: string) => void;
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    s3Operation?: S3OperationName;
    /** Content-Type as sent; hidden from Fastify, which rejects media types S3 accepts (e.g. ''). */
    s3ContentType?: string;
  }
}

// Request ids: a random per-process prefix and a counter — unique, and without
// a crypto call per request (that showed in GET profiles).
const requestIdPrefix = randomBytes(4).toString('hex').toUpperCase();
let requestCounter = 0;

function newRequestId(): string {
  requestCounter = (requestCounter + 1) % 0x100000000;
  return requestIdPrefix + requestCounter.toString(16).toUpperCase().padStart(8, '0');
}

function splitUrl(url: string): { rawPath: string; rawQuery: string } {
  const question = url.indexOf('?');
  return question < 0 ? { rawPath: url, rawQuery: '' } : { rawPath: url.slice(0, question), rawQuery: url.slice(question + 1) };
}

export function sendS3Error(request: FastifyRequest, reply: FastifyReply, thrown: unknown, log: (message: string) => void): void {
  const { error, internal } = toS3Error(thrown);
  if (internal) {
    const cause = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);
    log(`strata: internal error in request ${request.id} (${request.method} ${request.url}): ${cause}`);
  }
  if (reply.sent || reply.raw.headersSent) {
    // The status line is gone: all we can do is cut the response short.
    reply.raw.destroy();
    return;
  }
  reply.status(error.status).headers(error.headers);
  // A body we never read makes the connection unusable for the next request.
  if (!request.raw.complete) reply.header('connection', 'close');
  if (request.method === 'HEAD' || error.status === 304) {
    reply.removeHeader('content-type');
    reply.header('content-length', 0).send();
    return;
  }
  const { rawPath } = splitUrl(request.url);
  const body = errorXml(error, rawPath, request.id);
  reply.header('content-type', 'application/xml').header('content-length', Buffer.byteLength(body)).send(body);
}

export function buildApp(options: AppOptions): FastifyInstance {
  const log = options.log ?? ((message: string) => console.error(message));
  const metrics = new HttpMetrics();
  const app = Fastify({
    logger: false,
    genReqId: newRequestId,
    requestIdHeader: false,
    routerOptions: { maxParamLength: MAX_URL_BYTES },
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    exposeHeadRoutes: false,
    // Requests Node cannot even parse (oversized header section, broken framing)
    // still get an S3 error document before the connection closes.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return;
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      const s3Error = tooLarge
        ? new S3Error('RequestHeaderSectionTooLarge', `Your request header section exceeds the maximum allowed size (${MAX_HEADER_BYTES} bytes).`)
        : new S3Error('InvalidRequest', 'The request could not be parsed as HTTP/1.1.');
      const body = errorXml(s3Error, '', newRequestId());
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
    // Invalid URLs and unsupported media types are S3 errors, not Fastify JSON.
    frameworkErrors: (error, request, reply) => {
      sendS3Error(request, reply, new S3Error('InvalidURI', `Couldn't parse the specified URI: ${error.message}`), log);
    },
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-amz-request-id', request.id).header('server', 'Strata');
    const contentType = request.headers['content-type'];
    if (contentType !== undefined) {
      request.s3ContentType = contentType;
      delete request.headers['content-type'];
    }
    if (request.url.length > MAX_URL_BYTES) throw new S3Error('InvalidURI', 'The URI is too long.');
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.countRequest(request.s3Operation ?? 'Other', reply.statusCode);
    const sent = Number(reply.getHeader('content-length') ?? 0);
    const received = Number(request.headers['content-length'] ?? 0);
    metrics.countBytes(Number.isFinite(received) ? received : 0, Number.isFinite(sent) ? sent : 0);
  });
  app.setErrorHandler((error, request, reply) => sendS3Error(request, reply, error, log));
  app.setNotFoundHandler((request, reply) => sendS3Error(request, reply, new S3Error('InvalidURI', 'No such resource.'), log));

  app.get('/.strata/health', async (_request, reply) => reply.header('content-type', 'application/json').send(JSON.stringify(options.health())));
  app.get('/.strata/metrics', async (_request, reply) =>
    reply.header('content-type', 'text/plain; version=0.0.4').send(metrics.render(options.metricsExtra?.() ?? [])),
  );

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'],
    url: '*',
    handler: async (request, reply) => {
      const { rawPath, rawQuery } = splitUrl(request.raw.url ?? '/');
      const s3 = parseS3Request(
        { method: request.method, host: request.headers.host, rawPath, rawQuery, headers: request.headers },
        options.domain ? { domain: options.domain } : {},
      );
      request.s3Operation = s3.operation;
      const auth = authenticate(
        { method: request.method, rawPath, rawQuery, rawHeaders: request.raw.rawHeaders, headers: request.headers },
        { credentials: options.credentials, ...(options.now ? { now: options.now } : {}) },
      );
      const context: S3Context = { request, reply, s3, auth, requestId: request.id, services: options.services };
      await handlers[s3.operation](context);
      return reply;
    },
  });
  // Answer `Expect: 100-continue` ourselves: handlers send 100 only when they
  // start reading the body, so a request refused by auth or routing gets its
  // error without the client ever sending the body. Other Expect values are
  // ignored rather than answered with 417, as S3 does.
  app.server.on('checkContinue', (request, response) => app.server.emit('request', request, response));
  app.server.on('checkExpectation', (request, response) => app.server.emit('request', request, response));
  return app;
}
