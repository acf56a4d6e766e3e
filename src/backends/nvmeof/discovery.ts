// Discovery from the host side: connect to a discovery controller, read the
// discovery log page (0x70) as the Linux and SPDK hosts do — header, then the
// whole log, then the header again to make sure GENCTR did not change — and
// return the entries.
import { DISCOVERY_NQN, LogPageId, NVME_DISCOVERY_PORT_DEFAULT } from './constants.js';
import { NvmeTransportError } from './errors.js';
import {
  DISCOVERY_ENTRY_BYTES,
  DISCOVERY_HEADER_BYTES,
  type DiscoveryEntry,
  decodeDiscoveryEntries,
  decodeDiscoveryHeader,
} from './discovery-log.js';
import { HostController } from './host-controller.js';
import { randomUUID } from 'node:crypto';

export interface DiscoverOptions {
  host: string;
  port?: number;
  hostNqn?: string;
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

const ATTEMPTS_MAX = 4;
/** A discovery log larger than this is refused (1023 entries). */
const RECORDS_MAX = 1023;

export async function discover(options: DiscoverOptions): Promise<DiscoveryEntry[]> {
  const uuid = randomUUID();
  const controller = await HostController.connect({
    host: options.host,
    port: options.port ?? NVME_DISCOVERY_PORT_DEFAULT,
    subsystemNqn: DISCOVERY_NQN,
    hostNqn: options.hostNqn ?? `nqn.2014-08.org.nvmexpress:uuid:${uuid}`,
    hostId: Buffer.from(uuid.replace(/-/g, ''), 'hex'),
    hdgst: false,
    ddgst: false,
    ioQueues: 0,
    queueEntries: 32,
    katoMs: 0,
    commandTimeoutMs: options.commandTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
  });
  try {
    if (controller.identity?.cntrltype !== 2 && controller.identity?.cntrltype !== 0) {
      throw new NvmeTransportError(`controller type ${controller.identity?.cntrltype} is not a discovery controller`);
    }
    for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt += 1) {
      const header = decodeDiscoveryHeader(await controller.getLogPage(LogPageId.Discovery, 0, DISCOVERY_HEADER_BYTES));
      if (header.records > BigInt(RECORDS_MAX)) throw new NvmeTransportError(`discovery log claims ${header.records} records`);
      const lengthBytes = DISCOVERY_HEADER_BYTES + Number(header.records) * DISCOVERY_ENTRY_BYTES;
      const log = await controller.getLogPage(LogPageId.Discovery, 0, lengthBytes);
      const again = decodeDiscoveryHeader(await controller.getLogPage(LogPageId.Discovery, 0, DISCOVERY_HEADER_BYTES));
      if (again.generation === header.generation && decodeDiscoveryHeader(log).generation === header.generation) {
        return decodeDiscoveryEntries(log);
      }
    }
    throw new NvmeTransportError('discovery log kept changing while it was read');
  } finally {
    await controller.close({ shutdownTimeoutMs: 1000 });
  }
}
