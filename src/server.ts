// Composition root of a single node: metadata store → state machine → MetaLog,
// tiers → placement, object layer, HTTP app. Startup recovers tier space from
// committed metadata before the first request; shutdown drains requests first.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { FsTier } from './backends/fs-tier.js';
import { openNvmeTier } from './backends/nvme.js';
import { openRemoteTier } from './backends/remote-tier.js';
import { openDaxTier } from './backends/dax.js';
import type { TierStats, TierStore } from './backends/tier-store.js';
import { loadRootCredentials, StaticCredentialStore, type LoadedCredentials } from './config/credentials.js';
import type { ServerConfig } from './config/server-config.js';
import { buildApp } from './http/app.js';
import { MetaStore } from './object/meta-store.js';
import { ObjectLayer } from './object/object-layer.js';
import { MetaStateMachine } from './object/state-machine.js';
import { TieredDataStore } from './placement/data-store.js';
import { LocalMetaLog } from './replication/local-meta-log.js';

export interface RunningServer {
  app: FastifyInstance;
  /** http://host:port as actually bound. */
  endpoint: string;
  credentials: LoadedCredentials;
  recovery: Record<string, { reclaimedBlobs: number; reclaimedBytes: number }>;
  tiers: TierStats[];
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, log: (message: string) => void = (m) => console.error(m)): Promise<RunningServer> {
  const dataDirectory = resolve(config.dataDirectory);
  mkdirSync(dataDirectory, { recursive: true });
  const credentials = await loadRootCredentials(dataDirectory);
  const store = new MetaStore(join(dataDirectory, 'meta'));
  const stateMachine = new MetaStateMachine(store);
  const metaLog = new LocalMetaLog(stateMachine);
  const tiers: TierStore[] = [];
  mkdirSync(join(dataDirectory, 'blobs'), { recursive: true });
  if (config.remote) {
    const remote = config.remote;
    tiers.push(
      'url' in remote
        ? await openRemoteTier({ url: remote.url, ...(remote.sizeBytes !== undefined ? { sizeBytes: remote.sizeBytes } : {}), log })
        : await openNvmeTier({ path: remote.path, tierName: 'remote', ...(remote.sizeBytes !== undefined ? { sizeBytes: remote.sizeBytes } : {}) }),
    );
  }
  if (config.dax !== 'none') {
    tiers.push(
      await openDaxTier({
        path: config.dax.path ?? join(dataDirectory, 'blobs', 'dax.img'),
        ...(config.dax.sizeBytes !== undefined ? { sizeBytes: config.dax.sizeBytes } : {}),
      }),
    );
  }
  if (config.nvme !== 'none') {
    tiers.push(
      await openNvmeTier({
        path: config.nvme.path ?? join(dataDirectory, 'blobs', 'nvme.img'),
        ...(config.nvme.sizeBytes !== undefined ? { sizeBytes: config.nvme.sizeBytes } : {}),
      }),
    );
  }
  tiers.push(await FsTier.open({ directory: join(dataDirectory, 'blobs', 'fs') }));
  const data = new TieredDataStore(tiers, config.thresholds, log);
  const objects = new ObjectLayer({ store, log: metaLog, data });
  const recovery = await data.recover(() => objects.committedBlobs());
  for (const [tier, reclaimed] of Object.entries(recovery)) {
    if (reclaimed.reclaimedBlobs > 0) {
      log(`strata: tier ${tier}: reclaimed ${reclaimed.reclaimedBlobs} uncommitted blobs (${reclaimed.reclaimedBytes} bytes)`);
    }
  }

  const app = buildApp({
    services: { objects, region: config.region },
    credentials: new StaticCredentialStore([credentials.root]),
    ...(config.domain ? { domain: config.domain } : {}),
    log,
    health: () => ({
      status: 'ok',
      node: config.nodeId,
      role: 'single',
      tiers: data.health(),
    }),
  });
  await app.listen({ host: config.listenHost, port: config.listenPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listenPort;
  const host = config.listenHost.includes(':') ? `[${config.listenHost}]` : config.listenHost;
  let closed = false;
  return {
    app,
    endpoint: `http://${host}:${port}`,
    credentials,
    recovery,
    tiers: data.stats(),
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await data.close();
      await store.close();
    },
  };
}
