// Goal: no acknowledged byte is lost and no space leaks across crashes. A child
// process (fixtures/crash-child.ts) streams writes and deletes into the tier,
// committing each in a durable log before acknowledging it; we SIGKILL it at
// random moments, many times. After every kill we recover the tier from the
// log and check: every acknowledged blob is committed and reads back
// byte-identical, every acknowledged delete is committed, nothing the log does
// not hold is counted as used (space of interrupted writes is reclaimed), and
// interrupted writers are found. STRATA_CRASH_CYCLES sets the kills per engine.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openNvmeTier } from '../../src/backends/nvme.js';
import { liveBlobs, readCommitLog } from './fixtures/commit-log.js';
import { CRASH_TIER } from './fixtures/crash-config.js';
import { ENGINE_KINDS, makeTempDir, patternBytes } from './helpers.js';
import { allocatedBytes, readRange } from './nvme-helpers.js';

// Bound the whole file in time; each child process and temp dir is cleaned up by its test.
t.setTimeout(240000);

const CYCLES = Number(process.env.STRATA_CRASH_CYCLES ?? 10);
const CHILD = fileURLToPath(new URL('./fixtures/crash-child.js', import.meta.url));

interface Run {
  acked: { put: Set<string>; del: Set<string> };
  ready: unknown;
}

/** Starts the child, lets it work for `runMs` after it is ready, then SIGKILLs it. */
async function runAndKill(dir: string, engine: string, seed: number, runMs: number): Promise<Run> {
  const child: ChildProcess = spawn(process.execPath, [CHILD, dir, engine, String(seed)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked = { put: new Set<string>(), del: new Set<string>() };
  let ready: unknown;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = createInterface({ input: child.stdout! });
  const readyOrExit = new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      const [kind, op, id] = line.split(' ');
      if (kind === 'READY') {
        ready = JSON.parse(line.slice(6));
        resolve();
      } else if (kind === 'ACK' && (op === 'put' || op === 'del')) {
        acked[op].add(id!);
      }
    });
    void exited.then(() => resolve());
  });
  const watchdog = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await readyOrExit;
  await new Promise((resolve) => setTimeout(resolve, runMs));
  child.kill('SIGKILL');
  const { code, signal } = await exited;
  clearTimeout(watchdog);
  lines.close();
  if (signal !== 'SIGKILL' || ready === undefined) {
    throw new Error(`child ended on its own (code ${code}, signal ${signal}): ${stderr}`);
  }
  return { acked, ready };
}

for (const engine of ENGINE_KINDS) {
  t.test(`${engine}: acknowledged blobs survive SIGKILL; interrupted writes are reclaimed`, { timeout: 120_000 }, async (t) => {
    const { dir, cleanup } = await makeTempDir('crash');
    t.teardown(cleanup);
    const ackedPuts = new Set<string>();
    const ackedDels = new Set<string>();
    let reclaimedBlobs = 0;
    let reclaimedBytes = 0;
    let verifiedBlobs = 0;
    let random = 0x2545f491 ^ engine.length;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      random = (Math.imul(random, 1103515245) + 12345) >>> 0;
      const runMs = 50 + (random % 500);
      const run = await runAndKill(dir, engine, 1000 + cycle, runMs);
      for (const id of run.acked.put) ackedPuts.add(id);
      for (const id of run.acked.del) ackedDels.add(id);

      // What the "metadata" says after the crash.
      const records = await readCommitLog(join(dir, 'commits.log'));
      const committedPuts = new Set(records.filter((r) => r.op === 'put').map((r) => r.id));
      const committedDels = new Set(records.filter((r) => r.op === 'del').map((r) => r.id));
      const live = liveBlobs(records);
      for (const id of ackedPuts) if (!committedPuts.has(id)) t.fail(`acknowledged put ${id} is not committed`);
      for (const id of ackedDels) if (!committedDels.has(id)) t.fail(`acknowledged delete ${id} is not committed`);

      // Restart the tier from the commit log, as the server would.
      const tier = await openNvmeTier({ path: join(dir, 'nvme.img'), engine, ...CRASH_TIER });
      const result = await tier.recover([...live.values()].map((blob) => blob.ref));
      reclaimedBlobs += result.reclaimedBlobs;
      reclaimedBytes += result.reclaimedBytes;
      const expectedUsed = [...live.values()].reduce((sum, blob) => sum + allocatedBytes(blob.ref), 0);
      const stats = tier.stats();
      if (stats.usedBytes !== expectedUsed || stats.objects !== [...live.values()].filter((b) => b.size > 0).length) {
        t.fail(`cycle ${cycle}: used ${stats.usedBytes} bytes / ${stats.objects} blobs, committed ${expectedUsed} / ${live.size}`);
      }
      for (const [id, blob] of live) {
        const bytes = await readRange(tier, blob.ref).catch((error: unknown) => error);
        if (!(bytes instanceof Buffer) || !bytes.equals(patternBytes(id, blob.size))) {
          t.fail(`cycle ${cycle}: blob ${id} (${blob.size} bytes) did not read back: ${String(bytes instanceof Buffer ? 'wrong bytes' : bytes)}`);
        }
        verifiedBlobs++;
      }
      await tier.close();
    }
    t.ok(ackedPuts.size > CYCLES, `${ackedPuts.size} puts and ${ackedDels.size} deletes acknowledged over ${CYCLES} kills`);
    t.ok(verifiedBlobs > 0, `${verifiedBlobs} committed blob reads verified byte for byte`);
    t.ok(reclaimedBlobs > 0, `${reclaimedBlobs} interrupted writes found and reclaimed (${reclaimedBytes} bytes)`);
    t.pass('every cycle: acknowledged ⊆ committed, committed reads back, used space = committed space');
  });
}
