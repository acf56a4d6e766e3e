// What every S3 handler receives: the parsed operation, the authenticated
// caller, the Fastify request/reply, and the services behind the HTTP layer.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ObjectService } from '../object/service.js';
import type { AuthResult } from './auth/sigv4.js';
import type { S3OperationName, S3Request } from './router.js';

export interface HttpServices {
  objects: ObjectService;
  region: string;
}

export interface S3Context {
  request: FastifyRequest;
  reply: FastifyReply;
  s3: S3Request;
  auth: AuthResult;
  requestId: string;
  services: HttpServices;
}

export type S3Handler = (context: S3Context) => Promise<void>;
export type S3HandlerTable = Record<S3OperationName, S3Handler>;

/** The bucket of a bucket- or object-level operation (the router guarantees one). */
export function bucketOf(context: S3Context): string {
  return context.s3.bucket!;
}

/** The key of an object-level operation (the router guarantees one). */
export function keyOf(context: S3Context): string {
  return context.s3.key!;
}

export function header(context: S3Context, name: string): string | undefined {
  const value = context.request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
