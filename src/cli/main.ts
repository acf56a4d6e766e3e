// The `strata` command line: `strata server [flags]` runs a node; `strata admin` asks one.
import { ConfigError, parseServerArgs } from '../config/server-config.js';
import { startServer } from '../server.js';
import { runAdmin } from './admin.js';
import { runNvmet } from './nvmet.js';

const USAGE = `usage: strata server [--data DIR] [--listen HOST:PORT] [--domain DOMAIN] [--region REGION]
                     [--node-id ID] [--small-max SIZE] [--large-min SIZE] [--nvme PATH[:SIZE]|none]
                     [--dax PATH[:SIZE]|none] [--remote nvme-tcp://HOST:PORT/NQN | --remote /dev/nvmeXnY]
       strata admin tiers [--endpoint http://HOST:PORT] [--json]
       strata nvmet --listen HOST:PORT --nqn NQN --backing PATH (see \`strata nvmet --help\`)

  --data DIR          data directory (default ./data)
  --listen HOST:PORT  where S3 is served (default 127.0.0.1:9000)
  --domain DOMAIN     accept virtual-host-style requests for BUCKET.DOMAIN
  --region REGION     region reported for buckets (default us-east-1)
  --small-max SIZE    objects smaller than this go to the dax tier (default 64KiB)
  --large-min SIZE    objects of at least this size go to the remote tier (default 10MiB)
  --remote URL|PATH   the remote tier for large objects: nvme-tcp://HOST:PORT/SUBNQN (userspace
                      NVMe/TCP) or a kernel-attached namespace /dev/nvmeXnY[:SIZE]
  --dax PATH[:SIZE]   the dax tier's file, mapped with MAP_SYNC on a DAX filesystem, else msync
                      ("emulated"; default DIR/blobs/dax.img, 1 GiB); "none" disables the tier
  --nvme PATH[:SIZE]  the nvme tier's file or block device (default DIR/blobs/nvme.img, 1 GiB);
                      "none" disables the tier. STRATA_IO_ENGINE=io_uring|threadpool|auto.

Root credentials come from STRATA_ACCESS_KEY / STRATA_SECRET_KEY, or are
generated once into DIR/credentials.json.`;

async function runServer(args: string[]): Promise<void> {
  const config = parseServerArgs(args);
  const server = await startServer(config);
  const { root, source, path } = server.credentials;
  console.log(`Strata S3 endpoint: ${server.endpoint}`);
  console.log(`Data directory:     ${config.dataDirectory}`);
  console.log(`Access key:         ${root.accessKeyId}`);
  console.log(`Secret key:         ${root.secretAccessKey}`);
  console.log(`Credentials from:   ${source === 'environment' ? 'environment' : path}`);
  for (const tier of server.tiers) {
    const note = tier.mode === 'emulated' ? ' (no DAX here: MAP_SYNC refused, persisted with msync)' : '';
    console.log(`Tier ${tier.name.padEnd(14)} ${tier.mode}, ${(tier.capacityBytes / 1024 ** 3).toFixed(1)} GiB${note}`);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`strata: ${signal}, draining requests and stopping`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`strata: error while stopping: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export async function main(args: string[]): Promise<void> {
  const [command = 'help', ...rest] = args;
  try {
    switch (command) {
      case 'server':
        await runServer(rest);
        return;
      case 'admin':
        await runAdmin(rest);
        return;
      case 'nvmet':
        await runNvmet(rest);
        return;
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return;
      default:
        throw new ConfigError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`strata: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}
