// Starts an NVMe/TCP target for a test, in-process or as a `strata nvmet`
// child process, on a free loopback port with a temp backing file; registers a
// teardown that stops it and removes the file whatever the outcome.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBackingStore } from '../../../src/backends/nvmeof/target/backing-store.js';
import { NvmeTcpTarget } from '../../../src/backends/nvmeof/target/target.js';
import { STRATA_BIN } from '../../helpers/server-process.js';

export const TEST_NQN = 'nqn.2026-01.io.strata.test:ns1';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface InProcessTarget {
  target: NvmeTcpTarget;
  backing: FileBackingStore;
  port: number;
  url(query?: string): string;
  directory: string;
}

export async function startTarget(
  t: Teardown,
  options: { sizeBytes?: number; blockSizeBytes?: number; nqn?: string; discoveryPort?: boolean; maxH2CDataBytes?: number; log?: (m: string) => void } = {},
): Promise<InProcessTarget> {
  const directory = mkdtempSync(join(tmpdir(), 'strata-nvmeof-'));
  const backing = await FileBackingStore.open(join(directory, 'ns1.img'), {
    blockSizeBytes: options.blockSizeBytes ?? 512,
    createSizeBytes: options.sizeBytes ?? 64 * 1024 * 1024,
  });
  const nqn = options.nqn ?? TEST_NQN;
  const target = await NvmeTcpTarget.start({
    listen: { host: '127.0.0.1', port: 0 },
    ...(options.discoveryPort ? { discoveryListen: { host: '127.0.0.1', port: 0 } } : {}),
    subsystemNqn: nqn,
    backing,
    ...(options.log ? { log: options.log } : {}),
    ...(options.maxH2CDataBytes ? { maxH2CDataBytes: options.maxH2CDataBytes } : {}),
  });
  t.teardown(async () => {
    await target.close();
    await backing.close();
    rmSync(directory, { recursive: true, force: true });
  });
  const port = target.address.port;
  return { target, backing, port, directory, url: (query = '') => `nvme-tcp://127.0.0.1:${port}/${nqn}${query ? `?${query}` : ''}` };
}

export interface NvmetProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  kill(): Promise<void>;
  /** SIGTERM, then the exit code (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
}

/** `strata nvmet` as a child process (for kill tests). port 0 = any free port. */
export async function spawnNvmet(
  t: Teardown,
  options: { backingPath: string; port: number; sizeBytes?: number; extraArgs?: string[] },
): Promise<NvmetProcess> {
  const child = spawn(
    process.execPath,
    [STRATA_BIN, 'nvmet', '--listen', `127.0.0.1:${options.port}`, '--nqn', TEST_NQN, '--backing', options.backingPath, '--size', String(options.sizeBytes ?? 64 * 1024 * 1024), ...(options.extraArgs ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.teardown(kill);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`strata nvmet did not start in 20 s:\n${output}`)), 20_000);
    const check = () => {
      const match = /listening on [^\s]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`strata nvmet exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    port,
    output: () => output,
    kill: async () => void (await kill()),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export function tempDirectory(t: Teardown): string {
  const directory = mkdtempSync(join(tmpdir(), 'strata-nvmeof-'));
  t.teardown(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

export function pattern(lengthBytes: number, seed: number): Buffer {
  const data = Buffer.allocUnsafe(lengthBytes);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < lengthBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  return data;
}
