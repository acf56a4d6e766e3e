// How header bytes become text, shared by SigV4 (canonical headers) and user metadata.

/**
 * Node reads header bytes as latin1. Clients that send UTF-8 (the JS SDK)
 * mean the text those bytes encode; others (Python's http.client) send latin1.
 * Decode as UTF-8 when the bytes are valid UTF-8, else keep the latin1 reading.
 */
export function headerText(raw: string): string {
  // eslint-disable-next-line no-control-regex -- bytes above 0x7f mean non-ASCII text
  if (!/[^\x00-\x7f]/.test(raw)) return raw;
  const bytes = Buffer.from(raw, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : raw;
}
