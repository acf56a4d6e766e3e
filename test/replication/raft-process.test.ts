// Goal: three real node processes on 127.0.0.1 replicate a key-value state
// machine through Raft over TCP with durable logs; after the leader is killed
// with SIGKILL the other two elect a new leader and keep serving writes and
// linearizable reads; the killed node restarts from its disk, catches up, and
// all three agree on the same state containing every acknowledged write.
// Snapshots every 40 entries keeping only 5 make the restarted node catch up
// through InstallSnapshot over TCP.
import t from 'tap';
import { ProcessCluster } from './process-cluster.js';

t.setTimeout(120_000);

t.test('three processes survive SIGKILL of the leader and agree afterwards', async (t) => {
  const cluster = await ProcessCluster.start({ nodeCount: 3, snapshotEvery: 40, snapshotKeep: 5, tickMs: 50 });
  t.teardown(() => cluster.stop());
  const acked = new Map<string, string>();

  // A client: follow the leader hint on 421, find the leader again on 503
  // (a busy machine can cause an election); a write counts once acknowledged.
  const putAll = async (leader: number, from: number, to: number): Promise<void> => {
    await Promise.all(
      Array.from({ length: to - from }, async (_, i) => {
        const key = `k${from + i}`;
        const value = `v${from + i}`;
        let target = leader;
        for (let attempt = 0; attempt < 20; attempt++) {
          const res = await cluster.put(target, key, Buffer.from(value)).catch(() => null);
          if (res?.status === 200) {
            acked.set(key, value);
            return;
          }
          const hint = res?.status === 421 ? (JSON.parse(res.body.toString()) as { leader: number }).leader : 0;
          target = cluster.running.has(hint) ? hint : await cluster.waitForLeader();
        }
        throw new Error(`put ${key} never acknowledged`);
      }),
    );
  };

  const firstLeader = await cluster.waitForLeader();
  await putAll(firstLeader, 0, 60);
  t.equal(acked.size, 60, '60 writes acknowledged by the first leader');

  const leaderNow = await cluster.waitForLeader();
  const follower = [1, 2, 3].find((id) => id !== leaderNow)!;
  const refused = await cluster.put(follower, 'nope', Buffer.from('x'));
  t.equal(refused.status, 421, 'a follower refuses writes and names the leader');

  const victim = await cluster.waitForLeader();
  await cluster.kill(victim, 'SIGKILL');
  const killedAt = Date.now();
  const secondLeader = await cluster.waitForLeader(15_000);
  t.not(secondLeader, victim, 'a surviving node took over');
  t.comment(`new leader after ${Date.now() - killedAt} ms`);

  await putAll(secondLeader, 60, 120);
  for (const id of cluster.running.keys()) {
    for (const key of ['k0', 'k59', 'k60', 'k119']) {
      const res = await cluster.get(id, key);
      t.equal(res.body.toString(), acked.get(key), `linearizable read of ${key} on node ${id}`);
    }
  }

  await cluster.restart(victim);
  await putAll(secondLeader, 120, 130);
  const statuses = await cluster.waitForAgreement(20_000);
  t.equal(statuses.length, 3);
  t.ok(statuses.every((s) => s.keys === 130), 'every node holds all 130 acknowledged keys');
  t.equal(new Set(statuses.map((s) => s.digest)).size, 1, 'identical state digests');
  const restartedStatus = statuses.find((s) => s.id === victim)!;
  t.ok(restartedStatus.stats.snapshotsInstalled >= 1, 'the restarted node caught up through InstallSnapshot');
  t.ok(
    statuses.filter((s) => s.id !== victim).every((s) => s.stats.snapshotsTaken >= 1),
    'the surviving nodes took local snapshots (log compaction)',
  );
  const restarted = await cluster.get(victim, 'k125');
  t.equal(restarted.body.toString(), 'v125', 'the restarted node serves linearizable reads of new writes');
  t.equal(cluster.stderr.filter((l) => /fatal|Error/.test(l)).length, 0, `no node errors: ${cluster.stderr.join('')}`);
});
