// Loads the C++ addon (native/, built by cmake-js during `npm ci`) and gives its
// exports TypeScript types. Everything that crosses into C++ is validated here or
// by the caller: only integers, bigints and Uint8Arrays go in.
import { createRequire } from 'node:module';

export interface NativeAddon {
  crc32c(data: Uint8Array, previous: number): number;
  crc32(data: Uint8Array, previous: number): number;
  crc64nvme(data: Uint8Array, previous: bigint): bigint;
  /** crc(A‖B) from crc(A), crc(B) and len(B); kind 0 = CRC32, 1 = CRC32C, 2 = CRC64NVME. */
  crcCombine(kind: 0 | 1 | 2, crcA: bigint, crcB: bigint, lengthB: bigint): bigint;
  readonly crc32cHardware: boolean;
}

const require = createRequire(import.meta.url);
const addonPath = new URL('../../../native/build/Release/strata_native.node', import.meta.url);

function loadAddon(): NativeAddon {
  try {
    return require(addonPath.pathname) as NativeAddon;
  } catch (error) {
    throw new Error(
      `cannot load the native addon at ${addonPath.pathname}: run \`npm ci\` (or \`npm run build:native\`) first`,
      { cause: error },
    );
  }
}

export const native: NativeAddon = loadAddon();
