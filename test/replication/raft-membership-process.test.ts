// Goal: membership changes and leader transfer work between real processes:
// a fourth, empty node joins a running 3-node cluster (catching up from the
// leader), leadership moves to it, a founding member is removed, and the
// remaining three agree on every acknowledged write.
import t from 'tap';
import { ProcessCluster, sleep } from './process-cluster.js';

t.setTimeout(120_000);

t.test('add a node, transfer leadership to it, remove a founder', async (t) => {
  const cluster = await ProcessCluster.start({ nodeCount: 3, tickMs: 50 });
  t.teardown(() => cluster.stop());

  const put = async (key: string): Promise<void> => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const leader = await cluster.waitForLeader();
      const res = await cluster.put(leader, key, Buffer.from(`v-${key}`)).catch(() => null);
      if (res?.status === 200) return;
      await sleep(50);
    }
    throw new Error(`put ${key} never acknowledged`);
  };
  const members = async (query: string): Promise<number> => {
    const leader = await cluster.waitForLeader();
    return (await cluster.http(leader, 'POST', `/members?${query}`)).status;
  };

  for (let i = 0; i < 20; i++) await put(`a${i}`);
  await cluster.spawnJoiner(4);
  t.equal(await members('add=4'), 200, 'the leader added node 4');
  for (let i = 0; i < 20; i++) await put(`b${i}`);
  let statuses = await cluster.waitForAgreement(20_000);
  t.ok(statuses.every((s) => s.voters.join(',') === '1,2,3,4'), 'all four know four voters');
  t.ok(statuses.every((s) => s.keys === 40), 'the new node caught up with every write');

  const leader = await cluster.waitForLeader();
  await cluster.http(leader, 'POST', '/transfer?to=4');
  let newLeader = 0;
  for (let i = 0; i < 100 && newLeader !== 4; i++) {
    await sleep(20);
    newLeader = (await cluster.status(4))?.role === 'leader' ? 4 : 0;
  }
  t.equal(newLeader, 4, 'leadership moved to the new node');

  t.equal(await members('remove=1'), 200, 'node 1 removed');
  await cluster.kill(1);
  for (let i = 0; i < 20; i++) await put(`c${i}`);
  statuses = await cluster.waitForAgreement(20_000);
  t.equal(statuses.length, 3);
  t.ok(statuses.every((s) => s.voters.join(',') === '2,3,4'), 'three voters remain');
  t.ok(statuses.every((s) => s.keys === 60), 'every acknowledged write is on every member');
  t.equal(new Set(statuses.map((s) => s.digest)).size, 1, 'identical state');
});
