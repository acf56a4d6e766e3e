// Goal: the simulator's checker can fail. With disks that lose synced writes
// on a crash (what a missing fsync looks like), Raft's safety breaks, and the
// checker must report a safety violation (not merely a stuck cluster) within a
// few dozen seeds — and the failing seed must replay identically.
import t from 'tap';
import { runSeed, SimFailure } from './sim/cluster.js';

const SAFETY = /restarted at term|forgot its vote|leader completeness|log matching|state machine safety|election safety|stale read|commits a different entry/;

t.test('lying disks are caught, and a failing seed replays exactly', async (t) => {
  let found: SimFailure | null = null;
  const seen: string[] = [];
  for (let seed = 1; seed <= 60 && found === null; seed++) {
    try {
      runSeed({ seed, nodeCount: 3, lyingDisks: true });
    } catch (error) {
      if (!(error instanceof SimFailure)) throw error;
      seen.push(error.message);
      if (SAFETY.test(error.message)) found = error;
    }
  }
  t.ok(found !== null, `a safety violation was reported (failures seen: ${seen.join(' | ')})`);
  if (found === null) return;
  let replayed: SimFailure | null = null;
  try {
    runSeed({ seed: found.seed, nodeCount: 3, lyingDisks: true });
  } catch (error) {
    if (error instanceof SimFailure) replayed = error;
  }
  t.equal(replayed?.message, found.message, 'the same seed fails the same way');
  t.same(replayed?.trace, found.trace, 'with the same trace');
});
