// Goal: the remote tier end to end. `strata server --remote nvme-tcp://…`
// stores large objects on a `strata nvmet` target (a separate process); the
// bytes come back through the S3 API; when the target goes away, PUTs of large
// objects fall back to the nvme tier (recorded per object), GETs of objects
// stored remotely answer 503 ServiceUnavailable, and after the target returns
// they read back. A PUT interrupted by the target dying fails, leaves nothing
// visible, and leaks no remote space.
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startStrata, type StrataProcess } from '../helpers/server-process.js';
import { rawRequest } from '../helpers/raw-s3.js';
import { spawnNvmet, tempDirectory, TEST_NQN } from '../nvmeof/helpers/target.js';

const MiB = 1024 * 1024;
const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

interface TierHealth {
  name: string;
  mode: string;
  usedBytes: number;
  objects: number;
  available?: boolean;
}

async function tiers(server: StrataProcess): Promise<Map<string, TierHealth>> {
  const health = JSON.parse((await rawRequest(server, { method: 'GET', path: '/.strata/health', anonymous: true })).text) as {
    tiers: TierHealth[];
  };
  return new Map(health.tiers.map((tier) => [tier.name, tier]));
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test('large objects on a strata nvmet target over NVMe/TCP', async (t) => {
  const directory = tempDirectory(t);
  const backingPath = join(directory, 'remote.img');
  let target = await spawnNvmet(t, { backingPath, port: 0, sizeBytes: 128 * MiB, extraArgs: ['--block-size', '4096'] });
  const port = target.port;
  const server = await startStrata(t, {
    args: ['--remote', `nvme-tcp://127.0.0.1:${port}/${TEST_NQN}`, '--large-min', '1MiB'],
  });
  t.equal((await rawRequest(server, { method: 'PUT', path: '/remote' })).status, 200);
  let health = await tiers(server);
  t.equal(health.get('remote')?.mode, 'nvme-tcp', 'health shows the remote tier and its mode');

  const large = randomBytes(3 * MiB + 123);
  t.equal((await rawRequest(server, { method: 'PUT', path: '/remote/large', body: large })).status, 200);
  const small = randomBytes(100 * 1024);
  t.equal((await rawRequest(server, { method: 'PUT', path: '/remote/small', body: small })).status, 200);
  const largeHead = await rawRequest(server, { method: 'HEAD', path: '/remote/large' });
  t.equal(largeHead.headers['x-strata-tiers'], 'remote', 'a large object goes to the remote tier');
  t.equal((await rawRequest(server, { method: 'HEAD', path: '/remote/small' })).headers['x-strata-tiers'], 'nvme', 'a mid-size one stays local');
  t.equal(md5((await rawRequest(server, { method: 'GET', path: '/remote/large' })).body), md5(large), 'large object reads back');
  const ranged = await rawRequest(server, { method: 'GET', path: '/remote/large', headers: { range: 'bytes=1048570-2097160' } });
  t.ok(ranged.body.equals(large.subarray(1048570, 2097161)), 'a range across extents');
  health = await tiers(server);
  const remoteUsedWithOne = health.get('remote')!.usedBytes;
  t.equal(health.get('remote')!.objects, 1);

  // The target goes away.
  await target.kill();
  await waitFor(async () => (await tiers(server)).get('remote')?.available === false, 'the remote tier to be reported unavailable');
  const unavailable = await rawRequest(server, { method: 'GET', path: '/remote/large' });
  t.equal(unavailable.status, 503, 'GET of a remote object answers 503 while the target is away');
  t.equal(unavailable.code, 'ServiceUnavailable');
  const fallback = randomBytes(2 * MiB);
  t.equal((await rawRequest(server, { method: 'PUT', path: '/remote/fallback', body: fallback })).status, 200, 'PUT still succeeds');
  t.equal((await rawRequest(server, { method: 'HEAD', path: '/remote/fallback' })).headers['x-strata-tiers'], 'nvme', 'and lands on the fallback tier');
  t.equal(md5((await rawRequest(server, { method: 'GET', path: '/remote/small' })).body), md5(small), 'local objects are unaffected');

  // The target comes back on the same port with the same backing file.
  target = await spawnNvmet(t, { backingPath, port, sizeBytes: 128 * MiB, extraArgs: ['--block-size', '4096'] });
  await waitFor(async () => (await tiers(server)).get('remote')?.available === true, 'the remote tier to reconnect');
  t.equal(md5((await rawRequest(server, { method: 'GET', path: '/remote/large' })).body), md5(large), 'reads work again after reconnection');

  // The target dies in the middle of a large PUT.
  const interrupted = randomBytes(48 * MiB);
  const put = rawRequest(server, { method: 'PUT', path: '/remote/interrupted', body: interrupted, unsignedPayload: true });
  setTimeout(() => void target.kill(), 150);
  const outcome = await put;
  t.not(outcome.status, 200, `the interrupted PUT fails (status ${outcome.status} ${outcome.code ?? ''})`);
  t.equal((await rawRequest(server, { method: 'HEAD', path: '/remote/interrupted' })).status, 404, 'nothing is visible');
  target = await spawnNvmet(t, { backingPath, port, sizeBytes: 128 * MiB, extraArgs: ['--block-size', '4096'] });
  await waitFor(async () => (await tiers(server)).get('remote')?.available === true, 'the remote tier to reconnect again');
  health = await tiers(server);
  t.equal(health.get('remote')!.usedBytes, remoteUsedWithOne, 'no remote space leaked by the interrupted PUT');
  t.equal(health.get('remote')!.objects, 1);
  t.equal(md5((await rawRequest(server, { method: 'GET', path: '/remote/large' })).body), md5(large));
});

t.test('restart: remote blobs are recovered from metadata', async (t) => {
  const directory = tempDirectory(t);
  const backingPath = join(directory, 'remote.img');
  const target = await spawnNvmet(t, { backingPath, port: 0, sizeBytes: 64 * MiB, extraArgs: ['--block-size', '4096'] });
  const url = `nvme-tcp://127.0.0.1:${target.port}/${TEST_NQN}`;
  const dataDirectory = join(directory, 'data');
  const first = await startStrata(t, { dataDirectory, keepData: true, args: ['--remote', url, '--large-min', '1MiB'] });
  await rawRequest(first, { method: 'PUT', path: '/keep' });
  const body = randomBytes(5 * MiB);
  await rawRequest(first, { method: 'PUT', path: '/keep/obj', body });
  const usedBefore = (await tiers(first)).get('remote')!.usedBytes;
  await first.kill();
  const second = await startStrata(t, { dataDirectory, keepData: true, args: ['--remote', url, '--large-min', '1MiB'] });
  t.equal(md5((await rawRequest(second, { method: 'GET', path: '/keep/obj' })).body), md5(body), 'object survives a server SIGKILL');
  t.equal((await tiers(second)).get('remote')!.usedBytes, usedBefore, 'space accounting rebuilt from metadata');
});

t.test('--remote PATH: a kernel-attached namespace (a file stands in for /dev/nvmeXnY here)', async (t) => {
  const directory = tempDirectory(t);
  const server = await startStrata(t, { args: ['--remote', `${join(directory, 'kernel-ns.img')}:64MiB`, '--large-min', '1MiB'] });
  t.equal((await tiers(server)).get('remote')?.mode, 'kernel');
  await rawRequest(server, { method: 'PUT', path: '/kernel' });
  const body = randomBytes(2 * MiB);
  await rawRequest(server, { method: 'PUT', path: '/kernel/obj', body });
  t.equal((await rawRequest(server, { method: 'HEAD', path: '/kernel/obj' })).headers['x-strata-tiers'], 'remote');
  t.equal(md5((await rawRequest(server, { method: 'GET', path: '/kernel/obj' })).body), md5(body));
});
