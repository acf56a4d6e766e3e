// Identify data structures (4096-byte pages): Identify Controller, Identify
// Namespace, the active namespace ID list and the namespace identification
// descriptor list. The target encodes them, the initiator decodes them; the
// field offsets follow the NVMe base spec (see docs/nvmeof.md).

export const IDENTIFY_BYTES = 4096;

export interface ControllerIdentity {
  vid: number;
  serial: string;
  model: string;
  firmware: string;
  /** Max data transfer = 2^mdts × 4 KiB (CAP.MPSMIN = 0); 0 = unlimited. */
  mdts: number;
  cntlid: number;
  /** VS encoding: major << 16 | minor << 8 | tertiary. */
  version: number;
  oaes: number;
  /** 1 = I/O controller, 2 = discovery controller. */
  cntrltype: number;
  acl: number;
  /** 0's based number of concurrently outstanding AERs. */
  aerl: number;
  lpa: number;
  elpe: number;
  /** Keep-alive granularity, 100 ms units. */
  kas: number;
  sqes: number;
  cqes: number;
  maxcmd: number;
  /** Highest namespace ID. */
  nn: number;
  oncs: number;
  vwc: number;
  sgls: number;
  subnqn: string;
  /** I/O command capsule size, 16-byte units. */
  ioccsz: number;
  /** I/O response capsule size, 16-byte units. */
  iorcsz: number;
  icdoff: number;
  fcatt: number;
  msdbd: number;
}

function putAscii(page: Buffer, offset: number, length: number, text: string): void {
  page.fill(0x20, offset, offset + length);
  page.write(text.slice(0, length), offset, 'ascii');
}

function getAscii(page: Buffer, offset: number, length: number): string {
  return page.toString('ascii', offset, offset + length).replace(/[ \0]+$/, '');
}

function putNqn(page: Buffer, offset: number, nqn: string): void {
  page.fill(0, offset, offset + 256);
  page.write(nqn.slice(0, 255), offset, 'utf8');
}

export function getNqn(page: Buffer, offset: number): string {
  const end = page.indexOf(0, offset);
  return page.toString('utf8', offset, end < 0 || end > offset + 256 ? offset + 256 : end);
}

export function encodeIdentifyController(id: ControllerIdentity): Buffer {
  const page = Buffer.alloc(IDENTIFY_BYTES);
  page.writeUInt16LE(id.vid, 0);
  page.writeUInt16LE(id.vid, 2); // SSVID
  putAscii(page, 4, 20, id.serial);
  putAscii(page, 24, 40, id.model);
  putAscii(page, 64, 8, id.firmware);
  page[77] = id.mdts;
  page.writeUInt16LE(id.cntlid, 78);
  page.writeUInt32LE(id.version, 80);
  page.writeUInt32LE(id.oaes, 92);
  page[111] = id.cntrltype;
  page[258] = id.acl;
  page[259] = id.aerl;
  page[261] = id.lpa;
  page[262] = id.elpe;
  page.writeUInt16LE(id.kas, 320);
  page[512] = id.sqes;
  page[513] = id.cqes;
  page.writeUInt16LE(id.maxcmd, 514);
  page.writeUInt32LE(id.nn, 516);
  page.writeUInt16LE(id.oncs, 520);
  page[525] = id.vwc;
  page.writeUInt32LE(id.sgls, 536);
  putNqn(page, 768, id.subnqn);
  page.writeUInt32LE(id.ioccsz, 1792);
  page.writeUInt32LE(id.iorcsz, 1796);
  page.writeUInt16LE(id.icdoff, 1800);
  page[1802] = id.fcatt;
  page[1803] = id.msdbd;
  return page;
}

export function decodeIdentifyController(page: Buffer): ControllerIdentity {
  if (page.length < IDENTIFY_BYTES) throw new RangeError(`Identify Controller data is ${page.length} bytes`);
  return {
    vid: page.readUInt16LE(0),
    serial: getAscii(page, 4, 20),
    model: getAscii(page, 24, 40),
    firmware: getAscii(page, 64, 8),
    mdts: page[77]!,
    cntlid: page.readUInt16LE(78),
    version: page.readUInt32LE(80),
    oaes: page.readUInt32LE(92),
    cntrltype: page[111]!,
    acl: page[258]!,
    aerl: page[259]!,
    lpa: page[261]!,
    elpe: page[262]!,
    kas: page.readUInt16LE(320),
    sqes: page[512]!,
    cqes: page[513]!,
    maxcmd: page.readUInt16LE(514),
    nn: page.readUInt32LE(516),
    oncs: page.readUInt16LE(520),
    vwc: page[525]!,
    sgls: page.readUInt32LE(536),
    subnqn: getNqn(page, 768),
    ioccsz: page.readUInt32LE(1792),
    iorcsz: page.readUInt32LE(1796),
    icdoff: page.readUInt16LE(1800),
    fcatt: page[1802]!,
    msdbd: page[1803]!,
  };
}

export interface NamespaceIdentity {
  /** Size in logical blocks. */
  nsze: bigint;
  ncap: bigint;
  nuse: bigint;
  nsfeat: number;
  nmic: number;
  /** log2 of the block size (LBAF[FLBAS].LBADS). */
  lbads: number;
  /** 16 bytes, unique per namespace. */
  nguid: Buffer;
  eui64: Buffer;
}

export function encodeIdentifyNamespace(ns: NamespaceIdentity): Buffer {
  const page = Buffer.alloc(IDENTIFY_BYTES);
  page.writeBigUInt64LE(ns.nsze, 0);
  page.writeBigUInt64LE(ns.ncap, 8);
  page.writeBigUInt64LE(ns.nuse, 16);
  page[24] = ns.nsfeat;
  page[25] = 0; // NLBAF: one format
  page[26] = 0; // FLBAS: format 0
  page[30] = ns.nmic;
  ns.nguid.copy(page, 104, 0, 16);
  ns.eui64.copy(page, 120, 0, 8);
  page.writeUInt32LE(ns.lbads << 16, 128); // LBAF0: MS 0, LBADS, RP 0
  return page;
}

export function decodeIdentifyNamespace(page: Buffer): NamespaceIdentity & { blockSizeBytes: number } {
  if (page.length < IDENTIFY_BYTES) throw new RangeError(`Identify Namespace data is ${page.length} bytes`);
  const format = page[26]! & 0x0f;
  const lbads = (page.readUInt32LE(128 + format * 4) >> 16) & 0xff;
  return {
    nsze: page.readBigUInt64LE(0),
    ncap: page.readBigUInt64LE(8),
    nuse: page.readBigUInt64LE(16),
    nsfeat: page[24]!,
    nmic: page[30]!,
    lbads,
    blockSizeBytes: lbads >= 9 && lbads < 32 ? 2 ** lbads : 0,
    nguid: Buffer.from(page.subarray(104, 120)),
    eui64: Buffer.from(page.subarray(120, 128)),
  };
}

/** Active namespace IDs greater than `after`, ascending, zero-terminated (max 1024). */
export function encodeActiveNamespaceList(nsids: number[], after: number): Buffer {
  const page = Buffer.alloc(IDENTIFY_BYTES);
  nsids
    .filter((id) => id > after)
    .sort((a, b) => a - b)
    .slice(0, 1024)
    .forEach((id, index) => page.writeUInt32LE(id, index * 4));
  return page;
}

export function decodeActiveNamespaceList(page: Buffer): number[] {
  const ids: number[] = [];
  for (let offset = 0; offset + 4 <= Math.min(page.length, IDENTIFY_BYTES); offset += 4) {
    const id = page.readUInt32LE(offset);
    if (id === 0) break;
    ids.push(id);
  }
  return ids;
}

/** Namespace identification descriptors: NGUID (type 2) and CSI (type 4, NVM = 0). */
export function encodeNamespaceDescriptors(nguid: Buffer): Buffer {
  const page = Buffer.alloc(IDENTIFY_BYTES);
  page[0] = 2;
  page[1] = 16;
  nguid.copy(page, 4, 0, 16);
  page[20] = 4;
  page[21] = 1;
  page[24] = 0;
  return page;
}
