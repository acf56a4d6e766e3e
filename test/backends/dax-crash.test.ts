// Goal: across SIGKILLs during a stream of small writes, the dax tier loses
// no acknowledged byte, shows nothing unacknowledged, and leaks no space. A
// child process (fixtures/dax-crash-child.ts) writes, aborts and deletes
// blobs with 8 concurrent workers, committing each in a durable log before
// acknowledging it; we SIGKILL it at random moments, many times, on both
// persistence paths. After every kill we recover the tier from the log and
// check: every acknowledged put/delete is committed; every committed blob
// reads back byte-identical and no committed record is torn; blobs that
// finished but never committed are not served; used space equals the
// committed blobs' slots (interrupted writes reclaimed), and the interrupted
// records are found. STRATA_CRASH_CYCLES sets the kills per path.
//
// What this does not prove: a SIGKILL keeps the page cache, so it tests the
// publication protocol and recovery, not msync or cache-flush durability
// against power loss (see docs/backends.md).
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openDaxTier } from '../../src/backends/dax.js';
import type { BlobRef } from '../../src/backends/tier-store.js';
import { liveBlobs, readCommitLog } from './fixtures/commit-log.js';
import { DAX_CRASH_PATHS, DAX_CRASH_TIER } from './fixtures/dax-crash-config.js';
import { makeTempDir, patternBytes } from './helpers.js';
import { readRange, slotBytesOf } from './dax-helpers.js';

// Bound the whole file in time; each child process and temp dir is cleaned up by its test.
t.setTimeout(180000);

const CYCLES = Number(process.env.STRATA_CRASH_CYCLES ?? 10);
const CHILD = fileURLToPath(new URL('./fixtures/dax-crash-child.js', import.meta.url));

interface Run {
  acked: { put: Set<string>; del: Set<string> };
  done: Map<string, BlobRef>;
}

/** Starts the child, lets it work for `runMs` after it is ready, then SIGKILLs it. */
async function runAndKill(dir: string, path: string, seed: number, runMs: number): Promise<Run> {
  const child = spawn(process.execPath, [CHILD, dir, path, String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked = { put: new Set<string>(), del: new Set<string>() };
  const done = new Map<string, BlobRef>();
  let ready = false;
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = createInterface({ input: child.stdout });
  const readyOrExit = new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      const [kind, a, b] = line.split(' ');
      if (kind === 'READY') {
        ready = true;
        resolve();
      } else if (kind === 'DONE') {
        done.set(a!, JSON.parse(line.slice(6 + a!.length)) as BlobRef);
      } else if (kind === 'ACK' && (a === 'put' || a === 'del')) {
        acked[a].add(b!);
      }
    });
    void exited.then(() => resolve());
  });
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    await readyOrExit;
    await new Promise((resolve) => setTimeout(resolve, runMs));
  } finally {
    child.kill('SIGKILL');
  }
  const { code, signal } = await exited;
  clearTimeout(watchdog);
  lines.close();
  if (signal !== 'SIGKILL' || !ready) throw new Error(`child ended on its own (code ${code}, signal ${signal}): ${stderr}`);
  return { acked, done };
}

for (const path of Object.keys(DAX_CRASH_PATHS)) {
  t.test(`${path}: acknowledged blobs survive SIGKILL; unacknowledged ones never show; space is reclaimed`, { timeout: 90_000 }, async (t) => {
    const { dir, cleanup } = await makeTempDir('dax-crash');
    t.teardown(cleanup);
    const ackedPuts = new Set<string>();
    const ackedDels = new Set<string>();
    let reclaimed = 0;
    let interrupted = 0;
    let verified = 0;
    let refused = 0;
    let random = 0x5bd1e995 ^ path.length;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      random = (Math.imul(random, 1103515245) + 12345) >>> 0;
      const run = await runAndKill(dir, path, 2000 + cycle, 50 + (random % 500));
      for (const id of run.acked.put) ackedPuts.add(id);
      for (const id of run.acked.del) ackedDels.add(id);

      // What the "metadata" says after the crash.
      const records = await readCommitLog(join(dir, 'commits.log'));
      const committedPuts = new Set(records.filter((r) => r.op === 'put').map((r) => r.id));
      const committedDels = new Set(records.filter((r) => r.op === 'del').map((r) => r.id));
      const live = liveBlobs(records);
      for (const id of ackedPuts) if (!committedPuts.has(id)) t.fail(`acknowledged put ${id} is not committed`);
      for (const id of ackedDels) if (!committedDels.has(id)) t.fail(`acknowledged delete ${id} is not committed`);

      // Restart the tier from the log, as the server would.
      const tier = await openDaxTier({ path: join(dir, 'dax.img'), ...DAX_CRASH_TIER, ...DAX_CRASH_PATHS[path] });
      const result = await tier.recover([...live.values()].map((blob) => blob.ref));
      const report = tier.details().recovery!;
      reclaimed += result.reclaimedBlobs;
      interrupted += report.interruptedRecords;
      if (report.tornCommittedRecords !== 0) t.fail(`cycle ${cycle}: ${report.tornCommittedRecords} committed records torn`);
      const expectedUsed = [...live.values()].reduce((sum, blob) => sum + slotBytesOf(blob.ref), 0);
      const stats = tier.stats();
      const nonEmpty = [...live.values()].filter((b) => b.size > 0).length;
      if (stats.usedBytes !== expectedUsed || stats.objects !== nonEmpty) {
        t.fail(`cycle ${cycle}: used ${stats.usedBytes} bytes / ${stats.objects} blobs, committed ${expectedUsed} / ${nonEmpty}`);
      }
      for (const [id, blob] of live) {
        const bytes = await readRange(tier, blob.ref).catch((error: unknown) => error);
        if (!(bytes instanceof Buffer) || !bytes.equals(patternBytes(id, blob.size))) {
          t.fail(`cycle ${cycle}: blob ${id} (${blob.size} bytes) did not read back: ${bytes instanceof Buffer ? 'wrong bytes' : String(bytes)}`);
        }
        verified++;
      }
      // Finished but never committed: the tier must not serve them.
      for (const [id, ref] of run.done) {
        if (committedPuts.has(id) || ref.size === 0) continue;
        let served = false;
        try {
          await readRange(tier, ref);
          served = true;
        } catch {
          refused++;
        }
        if (served) t.fail(`cycle ${cycle}: uncommitted blob ${id} was served`);
      }
      await tier.close();
    }
    t.ok(ackedPuts.size > CYCLES, `${ackedPuts.size} puts and ${ackedDels.size} deletes acknowledged over ${CYCLES} kills`);
    t.ok(verified > 0, `${verified} committed blob reads verified byte for byte`);
    t.ok(reclaimed > 0 && interrupted > 0, `${reclaimed} records reclaimed at restarts, ${interrupted} of them interrupted writes`);
    t.ok(refused > 0, `${refused} finished-but-uncommitted blobs refused`);
  });
}
