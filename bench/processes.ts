// Child processes for benchmarks: strata, the plain-server baseline, s3rver.
// Each waits until it serves, and stops cleanly (its temp dir removed).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'node:net';

export const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface BenchProcess {
  name: string;
  endpoint: string;
  pid: number;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

function waitForOutput(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  let output = '';
  return new Promise((resolveMatch, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveMatch(match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${output}`));
    });
  });
}

function stopper(child: ChildProcess, directory?: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (directory) rmSync(directory, { recursive: true, force: true });
  };
}

export async function startStrataProcess(options: { args?: string[]; nodeArgs?: string[]; dataDirectory?: string } = {}): Promise<BenchProcess> {
  const directory = options.dataDirectory ?? mkdtempSync(join(tmpdir(), 'strata-bench-'));
  const accessKeyId = 'BENCHKEY';
  const secretAccessKey = 'bench-secret';
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), join(repositoryRoot, 'bin/strata.js'), 'server', '--data', directory, '--listen', '127.0.0.1:0', ...(options.args ?? [])],
    { env: { ...process.env, STRATA_ACCESS_KEY: accessKeyId, STRATA_SECRET_KEY: secretAccessKey }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const match = await waitForOutput(child, /Strata S3 endpoint: (\S+)/, 'strata');
  return { name: 'strata', endpoint: match[1]!, pid: child.pid!, accessKeyId, secretAccessKey, stop: stopper(child, options.dataDirectory ? undefined : directory) };
}

export async function startPlainProcess(): Promise<BenchProcess> {
  const child = spawn(process.execPath, [join(repositoryRoot, 'dist/bench/plain-server.js'), '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const match = await waitForOutput(child, /plain server on (\d+)/, 'plain server');
  return { name: 'node-http', endpoint: `http://127.0.0.1:${match[1]}`, pid: child.pid!, accessKeyId: 'x', secretAccessKey: 'x', stop: stopper(child) };
}

/** `strata nvmet` exporting PATH (created at SIZE) as an NVMe/TCP namespace on a free port. */
export async function startNvmetProcess(path: string, size: string): Promise<{ url: string; stop(): Promise<void> }> {
  const nqn = 'nqn.2026-01.io.strata.bench:remote';
  const child = spawn(
    process.execPath,
    [join(repositoryRoot, 'bin/strata.js'), 'nvmet', '--listen', '127.0.0.1:0', '--nqn', nqn, '--backing', path, '--size', size, '--block-size', '4096'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const match = await waitForOutput(child, /listening on [^\s]+:(\d+)/, 'strata nvmet');
  const stop = stopper(child);
  return {
    url: `nvme-tcp://127.0.0.1:${match[1]}/${nqn}`,
    async stop() {
      await stop();
      rmSync(path, { force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((done) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.end();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (open) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** s3rver from bench/peers (run `npm run bench:peers` once); undefined when absent. */
export async function startS3rverProcess(port: number): Promise<BenchProcess | undefined> {
  const bin = join(repositoryRoot, 'bench/peers/node_modules/s3rver/bin/s3rver.js');
  if (!existsSync(bin)) return undefined;
  const directory = mkdtempSync(join(tmpdir(), 's3rver-bench-'));
  const child = spawn(process.execPath, [bin, '-d', directory, '-a', '127.0.0.1', '-p', String(port), '--silent'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForPort(port);
  return { name: 's3rver', endpoint: `http://127.0.0.1:${port}`, pid: child.pid!, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', stop: stopper(child, directory) };
}
