// Raft benchmark: three real kv-node processes on 127.0.0.1 with durable logs.
//   node dist/bench/raft-bench.js [--duration-s 8] [--failover-runs 20] [--dir /tmp] [--json bench/out/raft.json]
// Measures, in one run and on the disk that holds --dir:
//   1. fdatasync latency of that disk (append 4 KiB + fdatasync, 2000 times),
//      because a commit needs at least one durable append on a majority;
//   2. committed proposals per second and p50/p99 commit latency (client
//      send → leader reply after commit + apply) with 1 and 64 concurrent
//      proposers and 100 B and 4 KiB values, plus entries per leader fsync;
//   3. leader failover after SIGKILL of the leader: time until a surviving
//      node is leader and until a write commits again (median of N runs).
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ProcessCluster, sleep, type NodeStatusJson } from '../test/replication/process-cluster.js';

interface Args {
  durationS: number;
  failoverRuns: number;
  dir: string;
  json: string | null;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    durationS: Number(get('duration-s') ?? 8),
    failoverRuns: Number(get('failover-runs') ?? 20),
    dir: get('dir') ?? tmpdir(),
    json: get('json') ?? null,
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function fdatasyncLatency(dir: string, writes: number, bytes: number): { p50Us: number; p99Us: number } {
  const d = mkdtempSync(join(dir, 'strata-fsync-'));
  const fd = openSync(join(d, 'probe'), 'w');
  const buf = randomBytes(bytes);
  const samples: number[] = [];
  try {
    for (let i = 0; i < writes; i++) {
      const t0 = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, i * bytes);
      fdatasyncSync(fd);
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  } finally {
    closeSync(fd);
    rmSync(d, { recursive: true, force: true });
  }
  samples.sort((a, b) => a - b);
  return { p50Us: percentile(samples, 50), p99Us: percentile(samples, 99) };
}

interface LoadResult {
  concurrency: number;
  valueBytes: number;
  committedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  entriesPerLeaderFsync: number;
  errors: number;
  leaderChanges: number;
}

async function load(cluster: ProcessCluster, leader: number, concurrency: number, valueBytes: number, durationS: number): Promise<LoadResult> {
  const value = randomBytes(valueBytes);
  const before = (await cluster.status(leader))!.stats;
  const latenciesMs: number[] = [];
  let errors = 0;
  let leaderChanges = 0;
  let target = leader;
  const deadline = Date.now() + durationS * 1000;
  let seq = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint();
        const res = await cluster.put(target, `w${worker}-${seq++ % 1000}`, value).catch(() => null);
        if (res?.status === 200) {
          latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
          continue;
        }
        // Not committed (e.g. an election happened): follow the leader hint like a real client.
        errors++;
        const hint = res?.status === 421 ? (JSON.parse(res.body.toString()) as { leader: number }).leader : 0;
        if (hint !== 0 && hint !== target) {
          target = hint;
          leaderChanges++;
        } else {
          await sleep(5);
        }
      }
    }),
  );
  const elapsedS = Number(process.hrtime.bigint() - started) / 1e9;
  const after = (await cluster.status(leader))!.stats;
  latenciesMs.sort((a, b) => a - b);
  return {
    concurrency,
    valueBytes,
    committedPerSecond: latenciesMs.length / elapsedS,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    entriesPerLeaderFsync: (after.entriesPersisted - before.entriesPersisted) / Math.max(1, after.persistBatches - before.persistBatches),
    errors,
    leaderChanges,
  };
}

/** The client/HTTP overhead alone: a request the leader answers without Raft. */
async function statusRoundTrip(cluster: ProcessCluster, leader: number, count: number): Promise<{ p50Ms: number; p99Ms: number }> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await cluster.http(leader, 'GET', '/status');
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

async function waitForWrite(cluster: ProcessCluster, deadlineMs: number): Promise<number> {
  while (Date.now() < deadlineMs) {
    for (const id of cluster.running.keys()) {
      const res = await cluster.put(id, 'failover-probe', Buffer.from('x')).catch(() => null);
      if (res?.status === 200) return id;
    }
    await sleep(2);
  }
  throw new Error('no write committed after failover');
}

async function failover(cluster: ProcessCluster, runs: number): Promise<{ leaderMs: number[]; writeMs: number[] }> {
  const leaderMs: number[] = [];
  const writeMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    await cluster.waitForAgreement(30_000);
    const victim = await cluster.waitForLeader();
    const oldTerm = (await cluster.status(victim))!.term;
    await cluster.kill(victim, 'SIGKILL');
    const t0 = performance.now();
    let newLeader: NodeStatusJson | null = null;
    while (newLeader === null && performance.now() - t0 < 30_000) {
      for (const id of cluster.running.keys()) {
        const s = await cluster.status(id);
        if (s?.role === 'leader' && s.term > oldTerm) newLeader = s;
      }
      if (newLeader === null) await sleep(1);
    }
    if (newLeader === null) throw new Error('no new leader within 30 s');
    leaderMs.push(performance.now() - t0);
    await waitForWrite(cluster, Date.now() + 30_000);
    writeMs.push(performance.now() - t0);
    console.log(`failover run ${run + 1}/${runs}: leader after ${leaderMs.at(-1)!.toFixed(0)} ms, write after ${writeMs.at(-1)!.toFixed(0)} ms`);
    await cluster.restart(victim);
  }
  return { leaderMs, writeMs };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`raft bench: ${cpus().length} cores, data under ${args.dir}, node ${process.version}`);
  const fsync4k = fdatasyncLatency(args.dir, 2000, 4096);
  const fsync128 = fdatasyncLatency(args.dir, 2000, 128);
  console.log(`fdatasync: 4 KiB p50 ${fsync4k.p50Us.toFixed(0)} µs p99 ${fsync4k.p99Us.toFixed(0)} µs; 128 B p50 ${fsync128.p50Us.toFixed(0)} µs p99 ${fsync128.p99Us.toFixed(0)} µs`);

  const cluster = await ProcessCluster.start({ nodeCount: 3, baseDir: args.dir, tickMs: 20, electionTicks: 10, snapshotEvery: 10_000 });
  const loads: LoadResult[] = [];
  let failovers: { leaderMs: number[]; writeMs: number[] } = { leaderMs: [], writeMs: [] };
  let httpRtt = { p50Ms: NaN, p99Ms: NaN };
  try {
    const leader = await cluster.waitForLeader();
    await load(cluster, leader, 8, 100, 1); // warm-up: JIT, connections, page cache
    httpRtt = await statusRoundTrip(cluster, leader, 1000);
    console.log(`client round trip without Raft (GET /status on the leader): p50 ${httpRtt.p50Ms.toFixed(2)} ms, p99 ${httpRtt.p99Ms.toFixed(2)} ms`);
    for (const valueBytes of [100, 4096]) {
      for (const concurrency of [1, 64]) {
        const r = await load(cluster, await cluster.waitForLeader(), concurrency, valueBytes, args.durationS);
        loads.push(r);
        console.log(
          `${concurrency} proposers, ${valueBytes} B: ${r.committedPerSecond.toFixed(0)} commits/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ` +
            `${r.entriesPerLeaderFsync.toFixed(1)} entries per leader fsync, ${r.errors} uncommitted attempts, ${r.leaderChanges} leader changes`,
        );
      }
    }
    failovers = await failover(cluster, args.failoverRuns);
  } finally {
    await cluster.stop();
  }
  const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
  const max = (xs: number[]): number => Math.max(...xs);
  console.log(
    `failover over ${failovers.leaderMs.length} runs: new leader median ${median(failovers.leaderMs).toFixed(0)} ms (max ${max(failovers.leaderMs).toFixed(0)}), ` +
      `first committed write median ${median(failovers.writeMs).toFixed(0)} ms (max ${max(failovers.writeMs).toFixed(0)})`,
  );
  console.log('\n| proposers | value | commits/s | p50 ms | p99 ms | entries per leader fsync |\n| --- | --- | --- | --- | --- | --- |');
  for (const r of loads) {
    console.log(`| ${r.concurrency} | ${r.valueBytes === 100 ? '100 B' : '4 KiB'} | ${r.committedPerSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.entriesPerLeaderFsync.toFixed(1)} |`);
  }
  if (args.json !== null) {
    await mkdir(dirname(args.json), { recursive: true });
    await writeFile(args.json, JSON.stringify({ fsync4k, fsync128, httpRtt, loads, failovers }, null, 2));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
