// Conditional reads (RFC 9110 §13 as S3 applies it): If-Match / If-Unmodified-Since
// fail with 412; If-None-Match / If-Modified-Since answer 304 on GET/HEAD. Dates
// compare at one-second resolution, the resolution of Last-Modified.
import type { ReadConditions } from './service.js';

export type ConditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

/** True when a header value (a list of quoted ETags, or *) matches the object's ETag. */
export function etagMatches(headerValue: string, etag: string): boolean {
  return headerValue
    .split(',')
    .map((item) => item.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'))
    .some((candidate) => candidate === '*' || candidate === etag);
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

export function evaluateReadConditions(
  conditions: ReadConditions | undefined,
  object: { etag: string; lastModifiedMs: number },
): ConditionOutcome {
  if (!conditions) return 'proceed';
  const modified = seconds(object.lastModifiedMs);
  if (conditions.ifMatch !== undefined) {
    if (!etagMatches(conditions.ifMatch, object.etag)) return 'precondition-failed';
  } else if (conditions.ifUnmodifiedSince && modified > seconds(conditions.ifUnmodifiedSince.getTime())) {
    return 'precondition-failed';
  }
  if (conditions.ifNoneMatch !== undefined) {
    if (etagMatches(conditions.ifNoneMatch, object.etag)) return 'not-modified';
  } else if (conditions.ifModifiedSince && modified <= seconds(conditions.ifModifiedSince.getTime())) {
    return 'not-modified';
  }
  return 'proceed';
}

/**
 * x-amz-copy-source-if-* conditions: like the read conditions, except that every
 * failing condition is a 412 (a copy has no 304), and AWS's pairing rules apply:
 * if-match true + if-unmodified-since false still copies; if-none-match false +
 * if-modified-since true fails.
 */
export function evaluateCopySourceConditions(
  conditions: ReadConditions | undefined,
  object: { etag: string; lastModifiedMs: number },
): boolean {
  const outcome = evaluateReadConditions(conditions, object);
  return outcome === 'proceed';
}
