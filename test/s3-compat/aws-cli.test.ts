// Goal: aws-cli (preinstalled) works unmodified: s3 mb/cp/sync/ls/rm, a 40 MiB
// file through its multipart path, and s3api calls with ranges and metadata.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStrata, type StrataProcess } from '../helpers/server-process.js';
import { hasCommand, runCommand } from '../helpers/run-command.js';
import { treesEqual, writeTree } from '../helpers/tree.js';

function awsEnv(server: StrataProcess): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_MAX_ATTEMPTS: '1',
  };
}

t.test('aws-cli', async (t) => {
  if (!(await hasCommand('aws'))) {
    t.fail('aws-cli is not installed; it is part of the test environment');
    return;
  }
  const server = await startStrata(t);
  const work = mkdtempSync(join(tmpdir(), 'strata-awscli-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const aws = async (...args: string[]) => {
    const transfer = args[0] === 's3' && ['cp', 'sync', 'mv'].includes(args[1] ?? '');
    return runCommand('aws', ['--endpoint-url', server.endpoint, ...(transfer ? ['--no-progress'] : []), ...args], {
      env: awsEnv(server),
      timeoutMs: 180_000,
    });
  };
  const ok = async (...args: string[]) => {
    const result = await aws(...args);
    t.equal(result.code, 0, `aws ${args.join(' ')}\n${result.stderr}`);
    return result.stdout;
  };

  await ok('s3', 'mb', 's3://cli-bucket');
  const source = join(work, 'source');
  writeTree(source, { 'a.txt': 100, 'dir/b.bin': 70_000, 'dir/sub/c.bin': 1, 'empty': 0, 'with space.txt': 10 });
  await ok('s3', 'sync', source, 's3://cli-bucket/tree');
  const listing = await ok('s3', 'ls', '--recursive', 's3://cli-bucket/tree/');
  for (const name of ['tree/a.txt', 'tree/dir/b.bin', 'tree/dir/sub/c.bin', 'tree/empty', 'tree/with space.txt']) {
    t.match(listing, name, `listed ${name}`);
  }
  const back = join(work, 'back');
  await ok('s3', 'sync', 's3://cli-bucket/tree', back);
  t.ok(treesEqual(source, back), 'sync round trip is byte-identical');
  const again = await ok('s3', 'sync', source, 's3://cli-bucket/tree');
  t.notMatch(again, /upload:/, 'a second sync uploads nothing');

  const big = join(work, 'big.bin');
  writeFileSync(big, randomBytes(40 * 1024 * 1024));
  await ok('s3', 'cp', big, 's3://cli-bucket/big.bin');
  const head = JSON.parse(await ok('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'big.bin')) as { ETag: string; ContentLength: number };
  t.match(head.ETag, /-\d+"$/, 'uploaded through multipart');
  t.equal(head.ContentLength, 40 * 1024 * 1024);
  await ok('s3', 'cp', 's3://cli-bucket/big.bin', join(work, 'big.back'));
  t.ok(readFileSync(join(work, 'big.back')).equals(readFileSync(big)), '40 MiB round trip');

  await ok('s3api', 'get-object', '--bucket', 'cli-bucket', '--key', 'big.bin', '--range', 'bytes=1000-1999', join(work, 'range.bin'));
  t.ok(readFileSync(join(work, 'range.bin')).equals(readFileSync(big).subarray(1000, 2000)), 'ranged get-object');

  await ok('s3api', 'put-object', '--bucket', 'cli-bucket', '--key', 'meta.txt', '--body', join(source, 'a.txt'), '--metadata', 'owner=cli', '--content-type', 'text/plain');
  const meta = JSON.parse(await ok('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'meta.txt')) as { Metadata: Record<string, string>; ContentType: string };
  t.same(meta.Metadata, { owner: 'cli' });
  t.equal(meta.ContentType, 'text/plain');
  const missing = await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'nope');
  t.not(missing.code, 0);
  t.match(missing.stderr, /404/);

  await ok('s3', 'rm', '--recursive', 's3://cli-bucket/');
  const empty = await ok('s3', 'ls', '--recursive', 's3://cli-bucket/');
  t.equal(empty.trim(), '');
  await ok('s3', 'rb', 's3://cli-bucket');
});
