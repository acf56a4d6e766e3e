// Goal: the simulator's checker can fail. With disks that lose synced writes
// on a crash (what a missing fsync looks like), Raft's guarantees break, and
// the checker must report violations on some of a few hundred seeds — and
// replay them identically.
import t from 'tap';
import { runSeed, SimFailure } from './sim/cluster.js';

t.test('lying disks are caught, and a failing seed replays exactly', async (t) => {
  const failures: SimFailure[] = [];
  for (let seed = 1; seed <= 300 && failures.length < 1; seed++) {
    try {
      runSeed({ seed, nodeCount: 3, lyingDisks: true });
    } catch (error) {
      if (!(error instanceof SimFailure)) throw error;
      failures.push(error);
    }
  }
  t.ok(failures.length > 0, `violations found: ${failures.map((f) => f.message.split('\n')[0]).join(' | ')}`);
  const first = failures[0];
  if (first === undefined) return;
  let replayed: SimFailure | null = null;
  try {
    runSeed({ seed: first.seed, nodeCount: 3, lyingDisks: true });
  } catch (error) {
    if (error instanceof SimFailure) replayed = error;
  }
  t.equal(replayed?.message, first.message, 'the same seed fails the same way');
  t.same(replayed?.trace, first.trace, 'with the same trace');
});
