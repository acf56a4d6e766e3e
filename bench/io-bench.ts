// Raw engine benchmark: keeps `iodepth` requests in flight against one file
// opened O_DIRECT, for a fixed time, the way fio does with ioengine=io_uring.
// Each request uses its own pool slot; random offsets are bs-aligned and
// uniform over the file. No fsync (fio's default) — this measures the engine.
//
//   node dist/bench/io-bench.js --file F --rw randread --bs 4096 --iodepth 32 --runtime-s 10 [--engine io_uring]
import { parseArgs } from 'node:util';
import { stat } from 'node:fs/promises';
import { openIoEngine, type IoEngineKind } from '../src/backends/io-engine.js';
import { IoFile } from '../src/backends/io-file.js';

export interface IoBenchResult {
  engine: IoEngineKind;
  rw: string;
  bs: number;
  iodepth: number;
  seconds: number;
  ios: number;
  iops: number;
  mbPerSecond: number;
  submitsPerSecond: number;
}

export async function runIoBench(options: {
  file: string;
  rw: 'randread' | 'randwrite' | 'read' | 'write';
  bs: number;
  iodepth: number;
  runtimeSeconds: number;
  engine?: IoEngineKind;
  sizeBytes?: number;
  deliverBatchMax?: number;
}): Promise<IoBenchResult> {
  const { bs, iodepth } = options;
  const sizeBytes = options.sizeBytes ?? (await stat(options.file)).size;
  const blocks = Math.floor(sizeBytes / bs);
  const engine = openIoEngine({
    kind: options.engine ?? 'auto',
    queueDepth: iodepth,
    slotBytes: bs,
    slots: iodepth,
    deliverBatchMax: options.deliverBatchMax === undefined ? undefined : Math.min(options.deliverBatchMax, iodepth),
  });
  const file = await IoFile.open(engine, options.file);
  const slots = await Promise.all(Array.from({ length: iodepth }, () => engine.pool.acquire('read')));
  for (const slot of slots) slot.bytes.fill(0x5a);
  const op = options.rw === 'randread' || options.rw === 'read' ? 'read' : 'write';
  const random = options.rw.startsWith('rand');
  let seed = 0x9e3779b9;
  let nextSequentialBlock = 0;
  const nextOffset = (): number => {
    if (!random) {
      const block = nextSequentialBlock;
      nextSequentialBlock = (nextSequentialBlock + 1) % blocks;
      return block * bs;
    }
    // xorshift32: cheap, uniform enough for block choice
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) % blocks) * bs;
  };

  let ios = 0;
  let stopping = false;
  const startNs = process.hrtime.bigint();
  const deadlineNs = startNs + BigInt(Math.round(options.runtimeSeconds * 1e9));
  const startSubmits = engine.stats().submits;
  let failure: Error | undefined;
  await new Promise<void>((resolve) => {
    let active = 0;
    const issue = (slotIndex: number): void => {
      active++;
      const slot = slots[slotIndex]!;
      engine
        .request({ op, fd: file.fd, poolOffset: slot.poolOffset, lengthBytes: bs, fileOffset: nextOffset() })
        .then((result) => {
          active--;
          if (result !== bs) failure ??= new Error(`${op} returned ${result}`);
          else ios++;
          // Check the clock every 64 completions only; hrtime is not free.
          if ((ios & 63) === 0 && process.hrtime.bigint() >= deadlineNs) stopping = true;
          if (!stopping && failure === undefined) issue(slotIndex);
          else if (active === 0) resolve();
        });
    };
    for (let i = 0; i < iodepth; i++) issue(i);
  });
  const seconds = Number(process.hrtime.bigint() - startNs) / 1e9;
  const submits = engine.stats().submits - startSubmits;
  for (const slot of slots) engine.pool.release(slot);
  await file.close();
  const kind = engine.kind;
  await engine.close();
  if (failure !== undefined) throw failure;
  return {
    engine: kind,
    rw: options.rw,
    bs,
    iodepth,
    seconds,
    ios,
    iops: ios / seconds,
    mbPerSecond: (ios * bs) / seconds / 1e6,
    submitsPerSecond: submits / seconds,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      file: { type: 'string' },
      rw: { type: 'string', default: 'randread' },
      bs: { type: 'string', default: '4096' },
      iodepth: { type: 'string', default: '32' },
      'runtime-s': { type: 'string', default: '10' },
      engine: { type: 'string' },
      'deliver-batch-max': { type: 'string' },
    },
  });
  if (values.file === undefined) throw new Error('--file is required');
  const rw = values.rw as 'randread' | 'randwrite' | 'read' | 'write';
  if (!['randread', 'randwrite', 'read', 'write'].includes(rw)) throw new Error(`bad --rw ${rw}`);
  const result = await runIoBench({
    file: values.file,
    rw,
    bs: Number(values.bs),
    iodepth: Number(values.iodepth),
    runtimeSeconds: Number(values['runtime-s']),
    engine: values.engine as IoEngineKind | undefined,
    deliverBatchMax: values['deliver-batch-max'] === undefined ? undefined : Number(values['deliver-batch-max']),
  });
  console.log(JSON.stringify(result));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
