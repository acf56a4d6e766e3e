// fio vs the Strata engine, same file, same run: 4 KiB random write and read at
// iodepth 1 and 32, 1 MiB sequential write and read. Both sides are
// time-bounded, O_DIRECT, no fsync (fio's defaults), one job/one thread, and
// run alternately (fio, ours, fio, ours…) so machine noise hits both.
//
//   node dist/bench/io-vs-fio.js [--file F] [--size-mib 1024] [--runtime-s 10] [--rounds 2] [--engines io_uring,threadpool]
//
// Prints a markdown table (for bench/RESULTS.md) and writes the raw numbers
// and exact commands to bench/out/io-vs-fio-<time>.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { IoBenchResult } from './io-bench.js';

interface Config {
  rw: 'randwrite' | 'randread' | 'write' | 'read';
  bs: number;
  iodepth: number;
}

const CONFIGS: Config[] = [
  { rw: 'randwrite', bs: 4096, iodepth: 1 },
  { rw: 'randwrite', bs: 4096, iodepth: 32 },
  { rw: 'randread', bs: 4096, iodepth: 1 },
  { rw: 'randread', bs: 4096, iodepth: 32 },
  { rw: 'write', bs: 1024 * 1024, iodepth: 8 },
  { rw: 'read', bs: 1024 * 1024, iodepth: 8 },
];

interface Sample {
  tool: string;
  command: string;
  iops: number;
  mbPerSecond: number;
}

function fioCommand(file: string, sizeMib: number, runtimeSeconds: number, c: Config): string[] {
  return [
    '--name=strata',
    `--filename=${file}`,
    '--ioengine=io_uring',
    '--direct=1',
    `--rw=${c.rw}`,
    `--bs=${c.bs}`,
    `--iodepth=${c.iodepth}`,
    `--size=${sizeMib}M`,
    '--time_based',
    `--runtime=${runtimeSeconds}`,
    '--output-format=json',
  ];
}

function runFio(args: string[]): Sample {
  const out = execFileSync('/usr/bin/fio', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const job = (JSON.parse(out) as { jobs: { read: FioSide; write: FioSide }[] }).jobs[0]!;
  const side = job.read.io_bytes > 0 ? job.read : job.write;
  return { tool: 'fio', command: `fio ${args.join(' ')}`, iops: side.iops, mbPerSecond: side.bw_bytes / 1e6 };
}

interface FioSide {
  io_bytes: number;
  iops: number;
  bw_bytes: number;
}

function runOurs(file: string, runtimeSeconds: number, c: Config, engine: string): Sample {
  const script = fileURLToPath(new URL('./io-bench.js', import.meta.url));
  const args = [script, '--file', file, '--rw', c.rw, '--bs', String(c.bs), '--iodepth', String(c.iodepth), '--runtime-s', String(runtimeSeconds), '--engine', engine];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: (runtimeSeconds + 60) * 1000 });
  if (child.status !== 0) throw new Error(`io-bench failed: ${child.stderr}`);
  const result = JSON.parse(child.stdout.trim().split('\n').pop()!) as IoBenchResult;
  return { tool: `strata-${engine}`, command: `node ${args.map((a) => a.replace(process.cwd() + '/', '')).join(' ')}`, iops: result.iops, mbPerSecond: result.mbPerSecond };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string', default: join(tmpdir(), 'strata-bench', 'io-vs-fio.img') },
      'size-mib': { type: 'string', default: '1024' },
      'runtime-s': { type: 'string', default: '10' },
      rounds: { type: 'string', default: '2' },
      engines: { type: 'string', default: 'io_uring' },
    },
  });
  const file = values.file;
  const sizeMib = Number(values['size-mib']);
  const runtimeSeconds = Number(values['runtime-s']);
  const rounds = Number(values.rounds);
  const engines = values.engines.split(',');
  mkdirSync(join(file, '..'), { recursive: true });
  if (!existsSync(file) || statSync(file).size < sizeMib * 1024 * 1024) {
    // Lay the file out with real writes, so neither side meets unwritten extents.
    execFileSync('/usr/bin/fio', ['--name=layout', `--filename=${file}`, '--rw=write', '--bs=1M', `--size=${sizeMib}M`, '--direct=1', '--ioengine=io_uring', '--iodepth=8'], { stdio: 'ignore' });
  }
  const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  const fioVersion = execFileSync('/usr/bin/fio', ['--version'], { encoding: 'utf8' }).trim();
  const rows: { config: Config; samples: Sample[] }[] = [];
  for (const config of CONFIGS) {
    const samples: Sample[] = [];
    for (let round = 0; round < rounds; round++) {
      samples.push(runFio(fioCommand(file, sizeMib, runtimeSeconds, config)));
      for (const engine of engines) samples.push(runOurs(file, runtimeSeconds, config, engine));
    }
    rows.push({ config, samples });
    const line = samples.map((s) => `${s.tool} ${Math.round(s.iops)} IOPS ${s.mbPerSecond.toFixed(0)} MB/s`).join(' | ');
    console.error(`${config.rw} ${config.bs} qd${config.iodepth}: ${line}`);
  }

  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(
    `Kernel ${kernel}, ${fioVersion}, file ${file} (${sizeMib} MiB, ext4, O_DIRECT), ${runtimeSeconds} s per run, ` +
      `${rounds} alternating rounds, medians; load average at the end ${load}:\n`,
  );
  console.log(`| workload | fio IOPS | fio MB/s | ${engines.map((e) => `${e} IOPS | ${e} MB/s | ${e} / fio (per-round range)`).join(' | ')} |`);
  console.log(`|---|---:|---:|${engines.map(() => '---:|---:|---:').join('|')}|`);
  for (const { config, samples } of rows) {
    const fio = samples.filter((s) => s.tool === 'fio');
    const fioIops = median(fio.map((s) => s.iops));
    const fioMb = median(fio.map((s) => s.mbPerSecond));
    const cells = engines.map((engine) => {
      const ours = samples.filter((s) => s.tool === `strata-${engine}`);
      const iops = median(ours.map((s) => s.iops));
      const mb = median(ours.map((s) => s.mbPerSecond));
      // Ratio within each round (fio and ours ran back to back), to show the noise.
      const ratios = ours.map((s, round) => (100 * s.iops) / fio[round]!.iops);
      const range = `${Math.min(...ratios).toFixed(0)}–${Math.max(...ratios).toFixed(0)}`;
      return `${Math.round(iops)} | ${mb.toFixed(0)} | ${((100 * iops) / fioIops).toFixed(0)} % (${range})`;
    });
    const name = `${config.rw} ${config.bs >= 1048576 ? `${config.bs / 1048576} MiB` : `${config.bs / 1024} KiB`} qd${config.iodepth}`;
    console.log(`| ${name} | ${Math.round(fioIops)} | ${fioMb.toFixed(0)} | ${cells.join(' | ')} |`);
  }
  const outDir = fileURLToPath(new URL('../../bench/out/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const outFile = join(outDir, `io-vs-fio-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(outFile, JSON.stringify({ kernel, fioVersion, file, sizeMib, runtimeSeconds, rounds, rows }, null, 2));
  console.log(`\nraw results and exact commands: ${outFile}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
