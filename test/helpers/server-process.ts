// Starts `strata server` as a child process on a free 127.0.0.1 port with a
// temp data dir, and gives tests an endpoint, credentials and an S3 client.
// stop() (registered as a tap teardown by startStrata) ends the process and
// removes the directory, whatever the test's outcome.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const STRATA_BIN = join(repositoryRoot, 'bin', 'strata.js');

export interface StrataProcess {
  endpoint: string;
  port: number;
  dataDirectory: string;
  accessKeyId: string;
  secretAccessKey: string;
  child: ChildProcess;
  output: () => string;
  client(options?: { forcePathStyle?: boolean }): S3Client;
  /** SIGKILL, for crash tests; the data directory stays. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  args?: string[];
  dataDirectory?: string;
  env?: Record<string, string>;
  /** Keep the data directory on stop (the caller removes it). */
  keepData?: boolean;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function startStrata(t: Teardown | undefined, options: StartOptions = {}): Promise<StrataProcess> {
  const dataDirectory = options.dataDirectory ?? mkdtempSync(join(tmpdir(), 'strata-test-'));
  const accessKeyId = 'TESTACCESSKEY';
  const secretAccessKey = 'test-secret-key';
  const child = spawn(
    process.execPath,
    [
      STRATA_BIN,
      'server',
      '--data',
      dataDirectory,
      '--listen',
      '127.0.0.1:0',
      // A smaller nvme file than the 1 GiB default keeps test start-up cheap (it is zero-filled once).
      ...(options.args?.includes('--nvme') ? [] : ['--nvme', `${join(dataDirectory, 'nvme.img')}:256MiB`]),
      ...(options.args?.includes('--dax') ? [] : ['--dax', `${join(dataDirectory, 'dax.img')}:64MiB`]),
      ...(options.args ?? []),
    ],
    {
      env: { ...process.env, STRATA_ACCESS_KEY: accessKeyId, STRATA_SECRET_KEY: secretAccessKey, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));

  const endpoint = await new Promise<string>((resolveEndpoint, reject) => {
    const timer = setTimeout(() => reject(new Error(`strata did not start in 30 s:\n${output}`)), 30_000);
    const check = () => {
      const match = /Strata S3 endpoint: (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveEndpoint(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`strata exited with ${code} before serving:\n${output}`));
    });
  });
  const port = Number(new URL(endpoint).port);
  let stopped = false;
  const processHandle: StrataProcess = {
    endpoint,
    port,
    dataDirectory,
    accessKeyId,
    secretAccessKey,
    child,
    output: () => output,
    client: (clientOptions = {}) =>
      new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: clientOptions.forcePathStyle ?? true,
        credentials: { accessKeyId, secretAccessKey },
        maxAttempts: 1,
      }),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (!options.keepData) rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
  t?.teardown(() => processHandle.stop());
  return processHandle;
}
