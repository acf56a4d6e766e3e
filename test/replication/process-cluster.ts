// Runs a cluster of real kv-node-main processes on 127.0.0.1 for the
// real-process test and the benchmarks: spawn, wire peers, find the leader,
// kill with SIGKILL, restart, and always clean up (processes and data dirs).
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const NODE_MAIN = fileURLToPath(new URL('../../src/replication/kv-node-main.js', import.meta.url));

export interface ClusterOptions {
  readonly nodeCount?: number;
  /** Parent directory for the data dirs (the disk under test); default os.tmpdir(). */
  readonly baseDir?: string;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly snapshotEvery?: number;
  readonly snapshotKeep?: number;
}

export interface NodeStatusJson {
  id: number;
  role: string;
  term: number;
  leader: number;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  voters: number[];
  digest: number;
  keys: number;
  stats: { persistBatches: number; entriesPersisted: number; messagesSent: number; snapshotsInstalled: number; snapshotsTaken: number };
}

interface Running {
  proc: ChildProcess;
  apiPort: number;
  raftPort: number;
  exited: Promise<void>;
}

export interface HttpResult {
  status: number;
  body: Buffer;
}

export class ProcessCluster {
  readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  readonly running = new Map<number, Running>();
  readonly stderr: string[] = [];

  private constructor(
    readonly dir: string,
    readonly ids: number[],
    private readonly options: ClusterOptions,
  ) {}

  static async start(options: ClusterOptions = {}): Promise<ProcessCluster> {
    const dir = await mkdtemp(join(options.baseDir ?? tmpdir(), 'strata-raft-'));
    const ids = Array.from({ length: options.nodeCount ?? 3 }, (_, i) => i + 1);
    const cluster = new ProcessCluster(dir, ids, options);
    try {
      for (const id of ids) await cluster.spawnNode(id);
      await cluster.publishPeers();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  private async spawnNode(id: number, bootstrap = this.ids.includes(id)): Promise<void> {
    const o = this.options;
    const args = [
      NODE_MAIN,
      '--id', String(id),
      '--dir', join(this.dir, `n${id}`),
      ...(bootstrap ? ['--bootstrap', this.ids.join(',')] : []),
      '--tick-ms', String(o.tickMs ?? 20),
      '--election-ticks', String(o.electionTicks ?? 10),
      '--snapshot-every', String(o.snapshotEvery ?? 10_000),
      '--snapshot-keep', String(o.snapshotKeep ?? 1000),
      '--parent-pid', String(process.pid),
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.stderr!.on('data', (chunk: Buffer) => this.stderr.push(`n${id}: ${chunk.toString()}`));
    const ready = await new Promise<{ apiPort: number; raftPort: number }>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      const timer = setTimeout(() => reject(new Error(`node ${id} did not start: ${this.stderr.join('')}`)), 15_000);
      lines.on('line', (line) => {
        if (!line.startsWith('READY ')) return;
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(6)) as { apiPort: number; raftPort: number });
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`node ${id} exited with ${code}: ${this.stderr.join('')}`));
      });
    });
    this.running.set(id, { proc, exited, ...ready });
  }

  /** Tell every running node where every node's Raft port is. */
  async publishPeers(): Promise<void> {
    const spec: Record<string, string> = {};
    for (const [id, r] of this.running) spec[id] = `127.0.0.1:${r.raftPort}`;
    for (const id of this.running.keys()) {
      const res = await this.http(id, 'POST', '/peers', Buffer.from(JSON.stringify(spec)));
      if (res.status !== 200) throw new Error(`node ${id} refused peers: ${res.status}`);
    }
  }

  http(id: number, method: string, path: string, body?: Buffer, timeoutMs = 10_000): Promise<HttpResult> {
    const r = this.running.get(id);
    if (r === undefined) return Promise.reject(new Error(`node ${id} is not running`));
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: r.apiPort, method, path, agent: this.agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} on node ${id} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async status(id: number): Promise<NodeStatusJson | null> {
    try {
      const res = await this.http(id, 'GET', '/status', undefined, 2000);
      return res.status === 200 ? (JSON.parse(res.body.toString()) as NodeStatusJson) : null;
    } catch {
      return null;
    }
  }

  /** Poll until one running node reports itself leader (and no other running node claims the same term). */
  async waitForLeader(timeoutMs = 15_000, pollMs = 5): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const id of this.running.keys()) {
        const s = await this.status(id);
        if (s?.role === 'leader') return id;
      }
      await sleep(pollMs);
    }
    throw new Error(`no leader within ${timeoutMs} ms`);
  }

  async put(id: number, key: string, value: Buffer): Promise<HttpResult> {
    return this.http(id, 'POST', `/put?key=${encodeURIComponent(key)}`, value);
  }

  async get(id: number, key: string): Promise<HttpResult> {
    return this.http(id, 'GET', `/get?key=${encodeURIComponent(key)}`);
  }

  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const r = this.running.get(id);
    if (r === undefined) return;
    this.running.delete(id);
    r.proc.kill(signal);
    await r.exited;
  }

  async restart(id: number): Promise<void> {
    await this.spawnNode(id);
    await this.publishPeers();
  }

  /** Start a new, empty node that is not a founding member (it waits to be added). */
  async spawnJoiner(id: number): Promise<void> {
    await this.spawnNode(id, false);
    await this.publishPeers();
  }

  /** Wait until every running node has applied the same index with the same state digest. */
  async waitForAgreement(timeoutMs = 15_000): Promise<NodeStatusJson[]> {
    const deadline = Date.now() + timeoutMs;
    let last: (NodeStatusJson | null)[] = [];
    while (Date.now() < deadline) {
      last = await Promise.all([...this.running.keys()].map((id) => this.status(id)));
      const ok = last.every((s) => s !== null && s.appliedIndex === last[0]!.appliedIndex && s.digest === last[0]!.digest && s.appliedIndex === s.lastIndex);
      if (ok && last.length > 0) return last as NodeStatusJson[];
      await sleep(20);
    }
    throw new Error(`nodes did not agree within ${timeoutMs} ms: ${JSON.stringify(last)}`);
  }

  /** Kill every process (SIGKILL) and delete the data directories. Safe to call twice. */
  async stop(): Promise<void> {
    for (const id of [...this.running.keys()]) await this.kill(id);
    this.agent.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
