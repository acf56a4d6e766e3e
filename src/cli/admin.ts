// `strata admin tiers`: asks a running node for its health and prints each
// storage tier (mode, capacity, used, objects) as a table.
import { ConfigError } from '../config/server-config.js';

interface TierRow {
  name: string;
  mode: string;
  capacityBytes: number;
  usedBytes: number;
  objects: number;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function renderTiers(tiers: TierRow[]): string {
  const header = ['tier', 'mode', 'capacity', 'used', 'used %', 'objects'];
  const rows = tiers.map((tier) => [
    tier.name,
    tier.mode,
    formatBytes(tier.capacityBytes),
    formatBytes(tier.usedBytes),
    tier.capacityBytes > 0 ? `${((100 * tier.usedBytes) / tier.capacityBytes).toFixed(1)}` : '-',
    String(tier.objects),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

export async function runAdmin(args: string[]): Promise<void> {
  const [subcommand, ...rest] = args;
  if (subcommand !== 'tiers') throw new ConfigError('usage: strata admin tiers [--endpoint http://HOST:PORT] [--json]');
  let endpoint = 'http://127.0.0.1:9000';
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--endpoint' && rest[i + 1] !== undefined) endpoint = rest[++i]!;
    else if (rest[i]?.startsWith('--endpoint=')) endpoint = rest[i]!.slice('--endpoint='.length);
    else if (rest[i] === '--json') json = true;
    else throw new ConfigError(`unknown argument ${rest[i]}`);
  }
  let response: Response;
  try {
    response = await fetch(new URL('/.strata/health', endpoint), { signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new Error(`cannot reach ${endpoint}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`${endpoint} answered ${response.status}`);
  const health = (await response.json()) as { node: string; role: string; tiers: TierRow[] };
  if (json) {
    console.log(JSON.stringify(health.tiers, null, 2));
    return;
  }
  console.log(`node ${health.node} (${health.role}) at ${endpoint}`);
  console.log(renderTiers(health.tiers));
}
