// `strata nvmet`: export a file or block device as namespace 1 of an NVM
// subsystem over NVMe/TCP, with a discovery controller on the same port (and
// optionally a second one). Prints one "listening" line per port, which tests
// and the compose cluster wait for.
import { ConfigError, parseListen, parseSize } from '../config/server-config.js';
import { forEachFlag } from '../config/flags.js';
import { FileBackingStore, type BackingStore } from '../backends/nvmeof/target/backing-store.js';
import { EngineBackingStore } from '../backends/nvmeof/target/engine-backing-store.js';
import { NvmeTcpTarget, type ListenAddress } from '../backends/nvmeof/target/target.js';

export const NVMET_USAGE = `usage: strata nvmet --listen HOST:PORT --nqn NQN --backing PATH
                    [--size SIZE] [--block-size 512|4096] [--discovery-listen HOST:PORT]
                    [--allow-host HOSTNQN]... [--verbose]

  --listen HOST:PORT            NVMe/TCP listener for the subsystem and discovery (port 0 = any free port)
  --nqn NQN                     subsystem NQN, e.g. nqn.2026-01.io.strata:ns1
  --backing PATH                file or block device exported as namespace 1
  --size SIZE                   create or extend a regular file to SIZE (e.g. 1GiB)
  --block-size BYTES            logical block size (default 512)
  --discovery-listen HOST:PORT  a second listener, e.g. 127.0.0.1:8009, also listed in the discovery log
  --allow-host HOSTNQN          accept only these host NQNs (repeatable; default any)`;

export interface NvmetConfig {
  listen: ListenAddress;
  discoveryListen?: ListenAddress;
  nqn: string;
  backingPath: string;
  sizeBytes?: number;
  blockSizeBytes: number;
  allowedHosts?: string[];
  verbose: boolean;
}

const NQN_PATTERN = /^nqn\.\d{4}-\d{2}\.[^:\s]+(:\S+)?$/;

export function parseNvmetArgs(args: string[]): NvmetConfig {
  const config: Partial<NvmetConfig> & { blockSizeBytes: number; verbose: boolean } = { blockSizeBytes: 512, verbose: false };
  forEachFlag(args, (flag, value) => {
    switch (flag) {
      case '--listen':
        config.listen = parseListen(value());
        break;
      case '--discovery-listen':
        config.discoveryListen = parseListen(value());
        break;
      case '--nqn':
        config.nqn = value();
        break;
      case '--backing':
        config.backingPath = value();
        break;
      case '--size':
        config.sizeBytes = parseSize(value(), '--size');
        break;
      case '--block-size':
        config.blockSizeBytes = Number(value());
        break;
      case '--allow-host':
        config.allowedHosts = [...(config.allowedHosts ?? []), value()];
        break;
      case '--help':
      case '-h':
        console.log(NVMET_USAGE);
        process.exit(0);
        break;
      case '--verbose':
        config.verbose = true;
        break;
      default:
        throw new ConfigError(`nvmet: unknown flag "${flag}"`);
    }
  });
  if (!config.listen) throw new ConfigError('nvmet: --listen HOST:PORT is required');
  if (!config.nqn) throw new ConfigError('nvmet: --nqn is required');
  if (!NQN_PATTERN.test(config.nqn) || Buffer.byteLength(config.nqn) > 223) {
    throw new ConfigError(`nvmet: "${config.nqn}" is not an NQN (nqn.YYYY-MM.reverse.domain:name, ≤ 223 bytes)`);
  }
  if (!config.backingPath) throw new ConfigError('nvmet: --backing PATH is required');
  if (![512, 1024, 2048, 4096].includes(config.blockSizeBytes)) throw new ConfigError('nvmet: --block-size must be 512, 1024, 2048 or 4096');
  return config as NvmetConfig;
}

export async function runNvmet(args: string[]): Promise<void> {
  const config = parseNvmetArgs(args);
  let backing: BackingStore;
  try {
    const options = {
      blockSizeBytes: config.blockSizeBytes,
      ...(config.sizeBytes !== undefined ? { createSizeBytes: config.sizeBytes } : {}),
    };
    // The native engine (io_uring + O_DIRECT) by default; STRATA_NVMET_BACKING=file keeps
    // the portable page-cache store (e.g. on filesystems that refuse O_DIRECT).
    backing =
      process.env.STRATA_NVMET_BACKING === 'file'
        ? await FileBackingStore.open(config.backingPath, options)
        : await EngineBackingStore.open(config.backingPath, options);
  } catch (error) {
    throw new ConfigError(`nvmet: cannot open --backing ${config.backingPath}: ${(error as Error).message}`);
  }
  const target = await NvmeTcpTarget.start({
    listen: config.listen,
    ...(config.discoveryListen ? { discoveryListen: config.discoveryListen } : {}),
    subsystemNqn: config.nqn,
    backing,
    ...(config.allowedHosts ? { allowedHosts: config.allowedHosts } : {}),
    log: config.verbose ? (message) => console.error(`strata nvmet: ${message}`) : () => undefined,
  }).catch(async (error: Error) => {
    await backing.close();
    throw new ConfigError(`nvmet: cannot listen: ${error.message}`);
  });
  const io = target.address;
  console.log(
    `strata nvmet: ${config.nqn} listening on ${io.address}:${io.port} ` +
      `(namespace 1: ${config.backingPath}, ${backing.sizeBytes} bytes, ${backing.blockSizeBytes}-byte blocks, ${backing.mode} backing)`,
  );
  const discovery = target.discoveryAddressInfo;
  if (discovery) console.log(`strata nvmet: discovery listening on ${discovery.address}:${discovery.port}`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`strata nvmet: ${signal}, closing connections and flushing the backing store`);
    target
      .close()
      .then(() => backing.flush())
      .then(() => backing.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`strata nvmet: error while stopping: ${(error as Error).message}`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
