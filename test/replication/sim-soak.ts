// Run the cluster simulator over many seeds, or replay one.
//   node dist/test/replication/sim-soak.js --seeds 20000 [--start 1] [--nodes 3|5|both]
//   node dist/test/replication/sim-soak.js --seed 1234 --nodes 5 --trace 400
// A failure prints the seed, the violated invariant and the trace tail, and
// exits non-zero; the second form replays it exactly.
import { runSeed, SimFailure, type SimStats } from './sim/cluster.js';

interface Args {
  seeds: number;
  start: number;
  seed: number | null;
  nodes: number[];
  traceLines: number;
  faultyMs: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: 1000, start: 1, seed: null, nodes: [3, 5], traceLines: 60, faultyMs: 3000 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--seeds':
        args.seeds = Number(value);
        i++;
        break;
      case '--start':
        args.start = Number(value);
        i++;
        break;
      case '--seed':
        args.seed = Number(value);
        i++;
        break;
      case '--nodes':
        args.nodes = value === 'both' ? [3, 5] : [Number(value)];
        i++;
        break;
      case '--trace':
        args.traceLines = Number(value);
        i++;
        break;
      case '--faulty-ms':
        args.faultyMs = Number(value);
        i++;
        break;
      default:
        throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return args;
}

export function soak(args: Args): { runs: number; failures: SimFailure[]; totals: SimStats } {
  const failures: SimFailure[] = [];
  const totals: SimStats = {
    events: 0, acked: 0, reads: 0, elections: 0, crashes: 0, snapshotsInstalled: 0,
    confChanges: 0, transfers: 0, maxTerm: 0, commitIndex: 0, virtualMs: 0,
  };
  const seeds = args.seed !== null ? [args.seed] : Array.from({ length: args.seeds }, (_, i) => args.start + i);
  let runs = 0;
  for (const seed of seeds) {
    for (const nodeCount of args.nodes) {
      runs++;
      try {
        const s = runSeed({ seed, nodeCount, traceLines: args.traceLines, faultyMs: args.faultyMs });
        for (const k of Object.keys(totals) as (keyof SimStats)[]) {
          totals[k] = k === 'maxTerm' || k === 'commitIndex' ? Math.max(totals[k], s[k]) : totals[k] + s[k];
        }
      } catch (error) {
        if (!(error instanceof SimFailure)) throw error;
        failures.push(error);
        console.log(`FAIL nodes=${nodeCount} ${error.message}`);
        console.log(error.trace.join('\n'));
        console.log(`replay: node dist/test/replication/sim-soak.js --seed ${seed} --nodes ${nodeCount} --trace 400`);
      }
    }
  }
  return { runs, failures, totals };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const { runs, failures, totals } = soak(args);
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${runs} runs (${args.seed ?? `${args.seeds} seeds from ${args.start}`}, nodes ${args.nodes.join('+')}) in ${seconds.toFixed(1)} s: ` +
      `${failures.length} failed; ${totals.acked} writes acked, ${totals.reads} reads, ${totals.elections} elections, ` +
      `${totals.crashes} crashes, ${totals.snapshotsInstalled} snapshots installed, ${totals.confChanges} conf changes applied, ` +
      `${totals.transfers} transfers, ${totals.events} events`,
  );
  process.exit(failures.length === 0 ? 0 : 1);
}
