// NVMe/TCP over loopback: `strata nvmet` (child process, file backing) driven
// by our initiator, beside two baselines measured in the same run: iperf3 on
// loopback (what TCP alone moves) and fio on the same backing file (what the
// file does without the network). Every run is time-bounded; the exact
// commands are printed with the results.
//
//   node dist/bench/nvmeof-bench.js [--seconds 5] [--size-mib 512] [--out bench/out]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { connect, type NvmeTcpNamespace } from '../src/backends/nvmeof/index.js';
import { repositoryRoot } from './processes.js';

interface Row {
  what: string;
  queueDepth: number;
  value: number;
  unit: 'MB/s' | 'IOPS';
  command: string;
}

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(name);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const seconds = argument('--seconds', 5);
const sizeMiB = argument('--size-mib', 512);
const outIndex = process.argv.indexOf('--out');
const outDirectory = outIndex > 0 ? process.argv[outIndex + 1]! : join(repositoryRoot, 'bench/out');
const NQN = 'nqn.2026-01.io.strata.bench:ns1';

async function startNvmet(backingPath: string): Promise<{ child: ChildProcess; port: number; command: string }> {
  const args = ['bin/strata.js', 'nvmet', '--listen', '127.0.0.1:0', '--nqn', NQN, '--backing', backingPath, '--size', `${sizeMiB}MiB`];
  const child = spawn(process.execPath, args, { cwd: repositoryRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`nvmet did not start: ${output}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on [^\s]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`nvmet exited ${code}: ${output}`)));
  });
  return { child, port, command: `node ${args.join(' ')}` };
}

/** Runs `op(offset)` with `depth` workers until the time is up; returns completed operations per second. */
async function timed(depth: number, op: (index: number) => Promise<void>): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let next = 0;
  let done = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: depth }, async () => {
      while (Date.now() < deadline) {
        const index = next++;
        await op(index);
        done += 1;
      }
    }),
  );
  const elapsedSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return done / elapsedSeconds;
}

async function nvmeRuns(ns: NvmeTcpNamespace, label: string, depth: number, command: string): Promise<Row[]> {
  const regionBytes = ns.sizeBytes;
  const big = Buffer.alloc(128 * 1024, 0xa5);
  const bigSlots = Math.floor(regionBytes / big.length);
  const smallSlots = Math.floor(regionBytes / 4096);
  const writeOps = await timed(depth, (i) => ns.write((i % bigSlots) * big.length, big));
  await ns.flush();
  const readOps = await timed(depth, async (i) => void (await ns.read((i % bigSlots) * big.length, big.length)));
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % smallSlots);
  const randOps = await timed(depth, async () => void (await ns.read(random() * 4096, 4096)));
  return [
    { what: `NVMe/TCP ${label} 128 KiB seq write`, queueDepth: depth, value: (writeOps * big.length) / 1e6, unit: 'MB/s', command },
    { what: `NVMe/TCP ${label} 128 KiB seq read`, queueDepth: depth, value: (readOps * big.length) / 1e6, unit: 'MB/s', command },
    { what: `NVMe/TCP ${label} 4 KiB random read`, queueDepth: depth, value: randOps, unit: 'IOPS', command },
  ];
}

function fio(backingPath: string, rw: string, blockSize: string, depth: number): Row {
  const args = [
    '--name=baseline', `--filename=${backingPath}`, `--rw=${rw}`, `--bs=${blockSize}`, `--size=${sizeMiB}m`,
    '--ioengine=io_uring', `--iodepth=${depth}`, '--direct=0', '--time_based', `--runtime=${seconds}`, '--output-format=json',
  ];
  const result = spawnSync('fio', args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  if (result.status !== 0) throw new Error(`fio failed: ${result.stderr}`);
  const job = (JSON.parse(result.stdout) as { jobs: Array<Record<'read' | 'write', { bw_bytes: number; iops: number }>> }).jobs[0]!;
  const side = rw.includes('write') ? job.write : job.read;
  const what = rw === 'write' ? 'fio 128 KiB seq write' : rw === 'read' ? 'fio 128 KiB seq read' : 'fio 4 KiB random read';
  return blockSize === '4k'
    ? { what, queueDepth: depth, value: side.iops, unit: 'IOPS', command: `fio ${args.join(' ')}` }
    : { what, queueDepth: depth, value: side.bw_bytes / 1e6, unit: 'MB/s', command: `fio ${args.join(' ')}` };
}

async function iperf3(): Promise<Row> {
  const port = 5201 + Math.floor(Math.random() * 500);
  const server = spawn('iperf3', ['-s', '-1', '-p', String(port)], { stdio: 'ignore' });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const args = ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-J'];
  const result = spawnSync('iperf3', args, { encoding: 'utf8', timeout: (seconds + 20) * 1000 });
  server.kill();
  if (result.status !== 0) throw new Error(`iperf3 failed: ${result.stdout} ${result.stderr}`);
  const bitsPerSecond = (JSON.parse(result.stdout) as { end: { sum_received: { bits_per_second: number } } }).end.sum_received.bits_per_second;
  return { what: 'iperf3 loopback TCP (one stream)', queueDepth: 1, value: bitsPerSecond / 8 / 1e6, unit: 'MB/s', command: `iperf3 -s -1 -p ${port} & iperf3 ${args.join(' ')}` };
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'strata-nvmeof-bench-'));
  const backingPath = join(directory, 'ns1.img');
  const rows: Row[] = [];
  const nvmet = await startNvmet(backingPath);
  try {
    for (const [label, query] of [['', ''], ['digests', 'hdgst=1&ddgst=1']] as const) {
      for (const depth of label ? [32] : [1, 32]) {
        const url = `nvme-tcp://127.0.0.1:${nvmet.port}/${NQN}?queues=2${query ? `&${query}` : ''}`;
        const ns = await connect(url, { queueEntries: 64 });
        const command = `${nvmet.command}; initiator: connect('${url.replace(String(nvmet.port), 'PORT')}', { queueEntries: 64 }), ${depth} concurrent requests, ${seconds} s each`;
        rows.push(...(await nvmeRuns(ns, label || 'plain', depth, command)));
        await ns.close();
      }
    }
  } finally {
    nvmet.child.kill('SIGTERM');
    await new Promise((resolve) => nvmet.child.once('exit', resolve));
  }
  for (const depth of [1, 32]) {
    rows.push(fio(backingPath, 'write', '128k', depth), fio(backingPath, 'read', '128k', depth), fio(backingPath, 'randread', '4k', depth));
  }
  rows.push(await iperf3());
  rmSync(directory, { recursive: true, force: true });
  const header = `| what | QD | result |\n| --- | ---: | ---: |`;
  const table = rows.map((row) => `| ${row.what} | ${row.queueDepth} | ${row.unit === 'IOPS' ? Math.round(row.value) : row.value.toFixed(0)} ${row.unit} |`).join('\n');
  console.log(`NVMe/TCP loopback benchmark, ${seconds} s per run, ${sizeMiB} MiB backing file, ${cpus().length} cores, node ${process.version}\n`);
  console.log(`${header}\n${table}\n`);
  console.log('Commands:');
  for (const command of new Set(rows.map((row) => row.command))) console.log(`- ${command}`);
  mkdirSync(outDirectory, { recursive: true });
  writeFileSync(join(outDirectory, `nvmeof-${Date.now()}.json`), JSON.stringify({ seconds, sizeMiB, rows }, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
