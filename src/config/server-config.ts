// Server configuration: defaults, command-line flags, and their validation.
// Bad configuration is a one-line error and a non-zero exit, never a half start.
import { ConfigError, forEachFlag } from './flags.js';
import { DEFAULT_THRESHOLDS, type PlacementThresholds } from '../placement/policy.js';
import { parseNvmeSpec } from '../backends/nvme-spec.js';
import { parseDaxSpec } from '../backends/dax-spec.js';

export interface ServerConfig {
  dataDirectory: string;
  listenHost: string;
  listenPort: number;
  domain?: string;
  region: string;
  nodeId: string;
  thresholds: PlacementThresholds;
  /** The nvme tier: a file or block device (`--nvme PATH[:SIZE]`), or disabled (`--nvme none`). */
  nvme: { path?: string; sizeBytes?: number } | 'none';
  /** The dax tier for small objects (`--dax PATH[:SIZE]`), or disabled (`--dax none`). */
  dax: { path?: string; sizeBytes?: number } | 'none';
  /** The remote tier for large objects: an nvme-tcp:// URL or a kernel-attached device path. */
  remote?: { url: string; sizeBytes?: number } | { path: string; sizeBytes?: number };
}

export const DEFAULT_CONFIG: ServerConfig = {
  dataDirectory: './data',
  listenHost: '127.0.0.1',
  listenPort: 9000,
  region: 'us-east-1',
  nodeId: 'n1',
  thresholds: DEFAULT_THRESHOLDS,
  nvme: {},
  dax: {},
};

export { ConfigError } from './flags.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1, B: 1, K: 1024, KB: 1024, KIB: 1024, M: 1024 ** 2, MB: 1024 ** 2, MIB: 1024 ** 2,
  G: 1024 ** 3, GB: 1024 ** 3, GIB: 1024 ** 3, T: 1024 ** 4, TB: 1024 ** 4, TIB: 1024 ** 4,
};

/** "64KiB", "10MiB", "1G", "4096" → bytes (binary units). */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text.trim());
  const unit = match ? SIZE_UNITS[match[2]!.toUpperCase()] : undefined;
  if (!match || unit === undefined) throw new ConfigError(`${flag}: cannot read "${text}" as a size (e.g. 64KiB, 10MiB)`);
  return Math.round(Number(match[1]) * unit);
}

export function parseListen(text: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(text);
  if (!match) throw new ConfigError(`--listen: expected HOST:PORT, got "${text}"`);
  const port = Number(match[2]);
  if (port > 65535) throw new ConfigError(`--listen: port ${port} is out of range`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port };
}

/** Parses `strata server` flags (--flag value or --flag=value). */
export function parseServerArgs(args: string[]): ServerConfig {
  const config: ServerConfig = { ...DEFAULT_CONFIG, thresholds: { ...DEFAULT_THRESHOLDS }, nvme: {}, dax: {} };
  forEachFlag(args, (flag, value) => {
    switch (flag) {
      case '--data':
        config.dataDirectory = value();
        break;
      case '--listen': {
        const { host, port } = parseListen(value());
        config.listenHost = host;
        config.listenPort = port;
        break;
      }
      case '--domain':
        config.domain = value();
        break;
      case '--region':
        config.region = value();
        break;
      case '--node-id':
        config.nodeId = value();
        break;
      case '--small-max':
        config.thresholds.smallMaxBytes = parseSize(value(), flag);
        break;
      case '--large-min':
        config.thresholds.largeMinBytes = parseSize(value(), flag);
        break;
      case '--dax': {
        const text = value();
        if (text === 'none') {
          config.dax = 'none';
          break;
        }
        try {
          config.dax = parseDaxSpec(text);
        } catch (error) {
          throw new ConfigError((error as Error).message);
        }
        break;
      }
      case '--remote': {
        const text = value();
        if (text.startsWith('nvme-tcp://')) config.remote = { url: text };
        else if (text.includes('://')) throw new ConfigError(`--remote: unsupported scheme in ${text} (nvme-tcp:// or a device path)`);
        else config.remote = parseNvmeSpec(text);
        break;
      }
      case '--nvme': {
        const text = value();
        if (text === 'none') {
          config.nvme = 'none';
          break;
        }
        try {
          config.nvme = parseNvmeSpec(text);
        } catch (error) {
          throw new ConfigError((error as Error).message);
        }
        break;
      }
      default:
        throw new ConfigError(`unknown flag ${flag} (see \`strata help\`)`);
    }
  });
  if (config.thresholds.smallMaxBytes > config.thresholds.largeMinBytes) {
    throw new ConfigError('--small-max must not exceed --large-min');
  }
  return config;
}
