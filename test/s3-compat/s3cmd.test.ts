// Goal: s3cmd (Debian package) works unmodified: mb, put, get, ls, del, and a
// multipart upload with 5 MiB chunks.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startStrata } from '../helpers/server-process.js';
import { hasCommand, runCommand } from '../helpers/run-command.js';

t.test('s3cmd', async (t) => {
  if (!(await hasCommand('s3cmd'))) {
    t.fail('s3cmd is not installed (.ci/run installs it with apt)');
    return;
  }
  const server = await startStrata(t);
  const work = mkdtempSync(join(tmpdir(), 'strata-s3cmd-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const config = join(work, 's3cfg');
  const hostPort = `127.0.0.1:${server.port}`;
  writeFileSync(
    config,
    [
      '[default]',
      `access_key = ${server.accessKeyId}`,
      `secret_key = ${server.secretAccessKey}`,
      `host_base = ${hostPort}`,
      `host_bucket = ${hostPort}`,
      'use_https = False',
      'signature_v2 = False',
      'bucket_location = us-east-1',
      'check_ssl_certificate = False',
      '',
    ].join('\n'),
  );
  const s3cmd = async (...args: string[]) => {
    const result = await runCommand('s3cmd', ['-c', config, ...args], { timeoutMs: 180_000 });
    t.equal(result.code, 0, `s3cmd ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  await s3cmd('mb', 's3://s3cmd-bucket');
  const small = join(work, 'small.txt');
  writeFileSync(small, 'hello from s3cmd\n');
  await s3cmd('put', small, 's3://s3cmd-bucket/dir/small.txt');
  const big = join(work, 'big.bin');
  writeFileSync(big, randomBytes(12 * 1024 * 1024 + 17));
  await s3cmd('put', '--multipart-chunk-size-mb=5', big, 's3://s3cmd-bucket/big.bin');
  const head = await server.client().send(new HeadObjectCommand({ Bucket: 's3cmd-bucket', Key: 'big.bin' }));
  t.match(head.ETag, /-3"$/, 'uploaded in three parts');
  const listing = await s3cmd('ls', '--recursive', 's3://s3cmd-bucket');
  t.match(listing, 's3://s3cmd-bucket/dir/small.txt');
  t.match(listing, 's3://s3cmd-bucket/big.bin');
  await s3cmd('get', 's3://s3cmd-bucket/big.bin', join(work, 'big.back'));
  t.ok(readFileSync(join(work, 'big.back')).equals(readFileSync(big)), 'multipart object round trip');
  await s3cmd('get', 's3://s3cmd-bucket/dir/small.txt', join(work, 'small.back'));
  t.equal(readFileSync(join(work, 'small.back'), 'utf8'), 'hello from s3cmd\n');
  await s3cmd('del', 's3://s3cmd-bucket/dir/small.txt', 's3://s3cmd-bucket/big.bin');
  t.equal((await s3cmd('ls', '--recursive', 's3://s3cmd-bucket')).trim(), '');
  await s3cmd('rb', 's3://s3cmd-bucket');
});
