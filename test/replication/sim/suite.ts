// Shared body of the simulator test files: run a range of seeds for one
// cluster size, report every failing seed with its replay command, and check
// that the faults and features the simulator claims to exercise really
// happened (a simulator that never crashes a node proves nothing).
import type { Test } from 'tap';
import { runSeed, SimFailure, type SimStats } from './cluster.js';

export function simulateSeeds(t: Test, nodeCount: number, defaultSeeds: number): void {
  const seeds = Number(process.env.STRATA_SIM_SEEDS ?? defaultSeeds);
  const start = Number(process.env.STRATA_SIM_START ?? 1);
  const totals = { acked: 0, reads: 0, elections: 0, crashes: 0, snapshotsInstalled: 0, confChanges: 0, transfers: 0 };
  const failures: SimFailure[] = [];
  const began = Date.now();
  for (let seed = start; seed < start + seeds; seed++) {
    let stats: SimStats;
    try {
      stats = runSeed({ seed, nodeCount });
    } catch (error) {
      if (!(error instanceof SimFailure)) throw error;
      failures.push(error);
      t.comment(`${error.message}\n${error.trace.join('\n')}`);
      t.comment(`replay: node dist/test/replication/sim-soak.js --seed ${seed} --nodes ${nodeCount} --trace 400`);
      continue;
    }
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += stats[k];
  }
  t.equal(failures.length, 0, `seeds ${start}..${start + seeds - 1} on ${nodeCount} nodes: failing seeds ${failures.map((f) => f.seed).join(', ')}`);
  t.comment(`${seeds} seeds, ${nodeCount} nodes, ${((Date.now() - began) / 1000).toFixed(1)} s: ${JSON.stringify(totals)}`);
  // The runs must have done real work under real faults.
  t.ok(totals.acked > seeds * 20, 'writes were acknowledged');
  t.ok(totals.reads > seeds * 10, 'linearizable reads completed');
  t.ok(totals.crashes > seeds, 'nodes crashed and restarted');
  t.ok(totals.elections > seeds * 2, 'leaders changed');
  t.ok(totals.snapshotsInstalled > seeds / 4, 'followers installed snapshots');
  t.ok(totals.transfers > seeds / 4, 'leadership was transferred');
  if (nodeCount >= 5) t.ok(totals.confChanges > seeds * 2, 'membership changed');
}
