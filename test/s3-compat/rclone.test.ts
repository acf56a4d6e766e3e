// Goal: rclone (Debian package) backs up and restores a tree with a 50 MiB
// file: copy, sync with deletions, check, and delete, all byte-identical.
import t from 'tap';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStrata, type StrataProcess } from '../helpers/server-process.js';
import { hasCommand, runCommand } from '../helpers/run-command.js';
import { listTree, treesEqual, writeTree } from '../helpers/tree.js';

function rcloneEnv(server: StrataProcess): NodeJS.ProcessEnv {
  // rclone treats AWS_CA_BUNDLE as a custom CA for its plain-HTTP transport and refuses to start.
  const { AWS_CA_BUNDLE: _caBundle, ...inherited } = process.env;
  return {
    ...inherited,
    RCLONE_CONFIG: '/dev/null',
    RCLONE_CONFIG_STRATA_TYPE: 's3',
    RCLONE_CONFIG_STRATA_PROVIDER: 'Other',
    RCLONE_CONFIG_STRATA_ENDPOINT: server.endpoint,
    RCLONE_CONFIG_STRATA_ACCESS_KEY_ID: server.accessKeyId,
    RCLONE_CONFIG_STRATA_SECRET_ACCESS_KEY: server.secretAccessKey,
    RCLONE_CONFIG_STRATA_REGION: 'us-east-1',
    RCLONE_CONFIG_STRATA_FORCE_PATH_STYLE: 'true',
  };
}

t.test('rclone', async (t) => {
  if (!(await hasCommand('rclone'))) {
    t.fail('rclone is not installed (.ci/run installs it with apt)');
    return;
  }
  const server = await startStrata(t);
  const work = mkdtempSync(join(tmpdir(), 'strata-rclone-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const rclone = async (...args: string[]) => {
    const result = await runCommand('rclone', ['--retries', '1', '--low-level-retries', '1', ...args], { env: rcloneEnv(server), timeoutMs: 240_000 });
    t.equal(result.code, 0, `rclone ${args.join(' ')}\n${result.stderr}`);
    return result.stdout;
  };
  const source = join(work, 'source');
  writeTree(source, {
    'big.bin': 50 * 1024 * 1024,
    'docs/readme.txt': 1500,
    'docs/deep/nested/file.bin': 300_000,
    'photos/2024/a.jpg': 80_000,
    'photos/2024/b.jpg': 120_000,
    'zero': 0,
    'unicode-ünïcødé.txt': 42,
  });
  await rclone('mkdir', 'strata:backup');
  await rclone('copy', source, 'strata:backup/tree');
  await rclone('check', source, 'strata:backup/tree');
  const restored = join(work, 'restored');
  await rclone('copy', 'strata:backup/tree', restored);
  t.ok(treesEqual(source, restored), 'restore is byte-identical');

  unlinkSync(join(source, 'photos/2024/a.jpg'));
  writeTree(source, { 'photos/2024/c.jpg': 5000 });
  await rclone('sync', source, 'strata:backup/tree');
  await rclone('check', source, 'strata:backup/tree');
  const listed = (await rclone('lsf', '-R', '--files-only', 'strata:backup/tree')).trim().split('\n').sort();
  t.same(listed, listTree(source), 'remote listing follows the sync');

  await rclone('delete', 'strata:backup/tree');
  t.equal((await rclone('lsf', '-R', 'strata:backup')).trim(), '', 'delete removed everything');
  await rclone('rmdir', 'strata:backup');
});
