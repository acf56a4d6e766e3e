// Goal: `strata nvmet` behaves as an operator expects: bad flags exit 2 with a
// one-line reason; a good run creates the backing file at --size, prints where
// it listens, serves discovery on a second port, and exits 0 on SIGTERM.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { discover } from '../../src/backends/nvmeof/index.js';
import { STRATA_BIN } from '../helpers/server-process.js';
import { spawnNvmet, tempDirectory, TEST_NQN } from './helpers/target.js';

t.test('bad flags exit 2 with a reason', async (t) => {
  const directory = tempDirectory(t);
  const cases: Array<[string[], RegExp]> = [
    [['--nqn', TEST_NQN, '--backing', join(directory, 'x')], /--listen HOST:PORT is required/],
    [['--listen', '127.0.0.1:0', '--nqn', 'not-an-nqn', '--backing', join(directory, 'x')], /is not an NQN/],
    [['--listen', '127.0.0.1:0', '--nqn', TEST_NQN, '--backing', join(directory, 'x'), '--block-size', '1000'], /--block-size/],
    [['--listen', '127.0.0.1:0', '--nqn', TEST_NQN, '--backing', join(directory, 'missing')], /give --size to create it/],
    [['--listen', '127.0.0.1:0', '--nqn', TEST_NQN, '--bogus'], /unknown flag/],
  ];
  for (const [args, reason] of cases) {
    const result = spawnSync(process.execPath, [STRATA_BIN, 'nvmet', ...args], { encoding: 'utf8', timeout: 20_000 });
    t.equal(result.status, 2, `${args.join(' ')} → exit 2`);
    t.match(result.stderr, reason);
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  }
});

t.test('a good run: file created, listening line, discovery port, SIGTERM exits 0', async (t) => {
  const directory = tempDirectory(t);
  const backingPath = join(directory, 'ns.img');
  const nvmet = await spawnNvmet(t, { backingPath, port: 0, sizeBytes: 3 * 1024 * 1024, extraArgs: ['--discovery-listen', '127.0.0.1:0', '--block-size', '4096'] });
  t.equal(statSync(backingPath).size, 3 * 1024 * 1024, 'backing file created at --size');
  t.match(nvmet.output(), /listening on 127\.0\.0\.1:\d+ \(namespace 1: .*3145728 bytes, 4096-byte blocks, (io_uring|threadpool) backing\)/);
  let match: RegExpExecArray | null = null;
  for (let waitedMs = 0; !match && waitedMs < 5000; waitedMs += 50) {
    match = /discovery listening on 127\.0\.0\.1:(\d+)/.exec(nvmet.output());
    if (!match) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.ok(match, 'discovery listener line printed');
  const discoveryPort = Number(match![1]);
  const entries = await discover({ host: '127.0.0.1', port: discoveryPort });
  t.same(entries.map((e) => [e.subtype, e.trsvcid]), [[3, String(discoveryPort)], [2, String(nvmet.port)]]);
  const code = await nvmet.stop();
  t.equal(code, 0, 'exit 0 on SIGTERM');
});
