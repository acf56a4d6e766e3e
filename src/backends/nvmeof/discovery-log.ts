// The discovery log page (LID 0x70): a 1024-byte header (GENCTR, NUMREC,
// RECFMT) followed by one 1024-byte entry per reachable subsystem port.
import { getNqn } from './identify.js';

export const DISCOVERY_HEADER_BYTES = 1024;
export const DISCOVERY_ENTRY_BYTES = 1024;

export const TransportType = { Tcp: 3 } as const;
export const AddressFamily = { IPv4: 1, IPv6: 2 } as const;
export const DiscoverySubtype = { Referral: 1, NvmSubsystem: 2, CurrentDiscovery: 3 } as const;

export interface DiscoveryEntry {
  trtype: number;
  adrfam: number;
  subtype: number;
  /** Bits 1:0 secure channel requirement (2 = not required). */
  treq: number;
  portId: number;
  cntlid: number;
  /** Max admin SQ size. */
  asqsz: number;
  /** Port as text, e.g. "4420". */
  trsvcid: string;
  subnqn: string;
  traddr: string;
  /** TSAS byte 0 for TCP: 0 = no TLS. */
  sectype: number;
}

function putPadded(page: Buffer, offset: number, length: number, text: string): void {
  page.fill(0x20, offset, offset + length);
  page.write(text.slice(0, length), offset, 'ascii');
}

export function encodeDiscoveryLog(generation: bigint, entries: DiscoveryEntry[]): Buffer {
  const page = Buffer.alloc(DISCOVERY_HEADER_BYTES + entries.length * DISCOVERY_ENTRY_BYTES);
  page.writeBigUInt64LE(generation, 0);
  page.writeBigUInt64LE(BigInt(entries.length), 8);
  page.writeUInt16LE(0, 16);
  entries.forEach((entry, index) => {
    const base = DISCOVERY_HEADER_BYTES + index * DISCOVERY_ENTRY_BYTES;
    page[base] = entry.trtype;
    page[base + 1] = entry.adrfam;
    page[base + 2] = entry.subtype;
    page[base + 3] = entry.treq;
    page.writeUInt16LE(entry.portId, base + 4);
    page.writeUInt16LE(entry.cntlid, base + 6);
    page.writeUInt16LE(entry.asqsz, base + 8);
    putPadded(page, base + 32, 32, entry.trsvcid);
    page.write(entry.subnqn.slice(0, 255), base + 256, 'utf8');
    putPadded(page, base + 512, 256, entry.traddr);
    page[base + 768] = entry.sectype;
  });
  return page;
}

export function decodeDiscoveryHeader(page: Buffer): { generation: bigint; records: bigint; recfmt: number } {
  if (page.length < 18) throw new RangeError(`discovery log header is ${page.length} bytes`);
  return { generation: page.readBigUInt64LE(0), records: page.readBigUInt64LE(8), recfmt: page.readUInt16LE(16) };
}

export function decodeDiscoveryEntries(page: Buffer): DiscoveryEntry[] {
  const entries: DiscoveryEntry[] = [];
  for (let base = DISCOVERY_HEADER_BYTES; base + DISCOVERY_ENTRY_BYTES <= page.length; base += DISCOVERY_ENTRY_BYTES) {
    entries.push({
      trtype: page[base]!,
      adrfam: page[base + 1]!,
      subtype: page[base + 2]!,
      treq: page[base + 3]!,
      portId: page.readUInt16LE(base + 4),
      cntlid: page.readUInt16LE(base + 6),
      asqsz: page.readUInt16LE(base + 8),
      trsvcid: page.toString('ascii', base + 32, base + 64).replace(/[ \0]+$/, ''),
      subnqn: getNqn(page, base + 256),
      traddr: page.toString('ascii', base + 512, base + 768).replace(/[ \0]+$/, ''),
      sectype: page[base + 768]!,
    });
  }
  return entries;
}
