// Root credentials: from STRATA_ACCESS_KEY / STRATA_SECRET_KEY, or generated
// once and kept (mode 0600) in the data directory so restarts keep them.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { CredentialStore, Credentials } from '../http/auth/sigv4.js';

const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomAccessKey(): string {
  const bytes = randomBytes(16);
  return 'STRATA' + [...bytes].map((byte) => ACCESS_KEY_ALPHABET[byte % 32]).join('').slice(0, 14);
}

function randomSecretKey(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'a').replace(/\//g, 'b');
}

/** AWS canonical user ids are 64 hex characters; ours derive from the access key. */
export function canonicalIdFor(accessKeyId: string): string {
  return createHash('sha256').update(`strata:${accessKeyId}`).digest('hex');
}

export function makeCredentials(accessKeyId: string, secretAccessKey: string, displayName = 'strata'): Credentials {
  return { accessKeyId, secretAccessKey, ownerId: canonicalIdFor(accessKeyId), ownerDisplayName: displayName };
}

export interface LoadedCredentials {
  root: Credentials;
  source: 'environment' | 'data-dir' | 'generated';
  path?: string;
}

export async function loadRootCredentials(dataDirectory: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedCredentials> {
  const accessKey = env.STRATA_ACCESS_KEY;
  const secretKey = env.STRATA_SECRET_KEY;
  if (accessKey && secretKey) return { root: makeCredentials(accessKey, secretKey), source: 'environment' };
  if (accessKey || secretKey) throw new Error('set both STRATA_ACCESS_KEY and STRATA_SECRET_KEY, or neither');
  const path = join(dataDirectory, 'credentials.json');
  try {
    const stored = JSON.parse(await fsp.readFile(path, 'utf8')) as { accessKeyId?: string; secretAccessKey?: string };
    if (typeof stored.accessKeyId !== 'string' || typeof stored.secretAccessKey !== 'string') {
      throw new Error(`${path} is not a credentials file`);
    }
    return { root: makeCredentials(stored.accessKeyId, stored.secretAccessKey), source: 'data-dir', path };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const root = makeCredentials(randomAccessKey(), randomSecretKey());
  const temporary = `${path}.tmp`;
  const handle = await fsp.open(temporary, 'w', 0o600);
  try {
    await handle.writeFile(JSON.stringify({ accessKeyId: root.accessKeyId, secretAccessKey: root.secretAccessKey }, null, 2) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temporary, path);
  return { root, source: 'generated', path };
}

export class StaticCredentialStore implements CredentialStore {
  private readonly byAccessKey = new Map<string, Credentials>();
  constructor(credentials: Credentials[]) {
    for (const item of credentials) this.byAccessKey.set(item.accessKeyId, item);
  }
  lookup(accessKeyId: string): Credentials | undefined {
    return this.byAccessKey.get(accessKeyId);
  }
}
