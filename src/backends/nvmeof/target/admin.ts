// Admin-queue commands of a target controller: Property Get/Set (the fabrics
// register access), Identify, Set/Get Features, Get Log Page, Keep Alive,
// Asynchronous Event Request and Abort. Pure request → result functions over the
// controller state; the connection does the transport work. Anything not listed
// answers Invalid Opcode with DNR, as the spec asks, so hosts do not retry.
import {
  AdminOpcode,
  FabricsType,
  FeatureId,
  GenericStatus,
  IdentifyCns,
  LogPageId,
  Property,
  Sct,
} from '../constants.js';
import { encodeDiscoveryLog } from '../discovery-log.js';
import { encodeStatus } from '../errors.js';
import {
  encodeActiveNamespaceList,
  encodeIdentifyController,
  encodeIdentifyNamespace,
  encodeNamespaceDescriptors,
  IDENTIFY_BYTES,
} from '../identify.js';
import { fctypeOf, type Sqe } from '../sqe.js';
import { type ControllerRegistry, TARGET_LIMITS, type TargetController, VERSION_1_4 } from './controller.js';

export interface CommandResult {
  status: number;
  dw0?: number;
  dw1?: number;
  /** Controller → host data, sent as C2HData before the response. */
  data?: Buffer;
  /** Asynchronous Event Request: no completion until an event fires. */
  held?: boolean;
}

export const SUCCESS: CommandResult = { status: 0 };
export function failure(sc: number, options: { sct?: number; dnr?: boolean; dw0?: number } = {}): CommandResult {
  return { status: encodeStatus(options.sct ?? Sct.Generic, sc, options.dnr ?? true), dw0: options.dw0 ?? 0 };
}
const INVALID_FIELD = failure(GenericStatus.InvalidField);

/** CAP: MQES, CQR, TO = 15 s, CSS = NVM command set only, MPSMIN = MPSMAX = 4 KiB. */
export function capabilities(): bigint {
  const mqes = BigInt(TARGET_LIMITS.queueEntriesMax - 1);
  return mqes | (1n << 16n) | (30n << 24n) | (1n << 37n);
}

export function propertyGet(controller: TargetController, sqe: Buffer): CommandResult {
  const eightBytes = (sqe[40]! & 0x7) === 1;
  const offset = sqe.readUInt32LE(44);
  let value: bigint;
  switch (offset) {
    case Property.CAP:
      value = capabilities();
      break;
    case Property.VS:
      value = BigInt(VERSION_1_4);
      break;
    case Property.CC:
      value = BigInt(controller.cc);
      break;
    case Property.CSTS:
      value = BigInt(controller.csts);
      break;
    default:
      return INVALID_FIELD;
  }
  if (offset === Property.CAP && !eightBytes) return INVALID_FIELD;
  return { status: 0, dw0: Number(value & 0xffffffffn), dw1: eightBytes ? Number(value >> 32n) : 0 };
}

/** Property Set; only CC is writable. Enabling needs 64-byte SQEs and 16-byte CQEs, else CSTS.CFS. */
export function propertySet(controller: TargetController, sqe: Buffer, flush: () => Promise<void>): CommandResult {
  const offset = sqe.readUInt32LE(44);
  if (offset !== Property.CC) return INVALID_FIELD;
  const value = sqe.readUInt32LE(48);
  const wasEnabled = (controller.cc & 1) !== 0;
  const enable = (value & 1) !== 0;
  controller.cc = value;
  if (enable && !wasEnabled) {
    const iosqes = (value >> 16) & 0xf;
    const iocqes = (value >> 20) & 0xf;
    const isIo = controller.subsystem.kind === 'nvm';
    // A discovery controller has no I/O queues, so its entry sizes do not matter.
    if (isIo && (iosqes !== 6 || iocqes !== 4)) controller.csts |= 0x2;
    else controller.csts |= 0x1;
  } else if (!enable && wasEnabled) {
    controller.csts &= ~0x1;
  }
  const shn = (value >> 14) & 0x3;
  if (shn !== 0 && (controller.csts & 0xc) === 0) {
    // Shutdown: report "in progress" until the namespaces are flushed, then "complete".
    controller.csts = (controller.csts & ~0xc) | 0x4;
    flush().then(
      () => (controller.csts = (controller.csts & ~0xc) | 0x8),
      () => (controller.csts = (controller.csts & ~0xc) | 0x8 | 0x2),
    );
  }
  return SUCCESS;
}

function identifyController(controller: TargetController, serial: string, firmware: string): Buffer {
  const isIo = controller.subsystem.kind === 'nvm';
  return encodeIdentifyController({
    vid: 0,
    serial,
    model: isIo ? 'Strata NVMe/TCP target' : 'Strata discovery controller',
    firmware,
    mdts: TARGET_LIMITS.mdts,
    cntlid: controller.cntlid,
    version: VERSION_1_4,
    oaes: 0,
    cntrltype: isIo ? 1 : 2,
    acl: 3,
    aerl: TARGET_LIMITS.aerMax - 1,
    lpa: 0,
    elpe: 0,
    kas: 10,
    sqes: 0x66,
    cqes: 0x44,
    maxcmd: TARGET_LIMITS.queueEntriesMax,
    nn: isIo ? Math.max(0, ...controller.subsystem.namespaces.keys()) : 0,
    oncs: 0,
    // Writes may sit in the page cache until Flush: tell hosts so they send it.
    vwc: isIo ? 1 : 0,
    // Bit 0: SGLs supported; bit 20: in-capsule data with an offset descriptor.
    sgls: 0x00100001,
    subnqn: controller.subsystem.nqn,
    ioccsz: isIo ? (64 + TARGET_LIMITS.ioInCapsuleBytesMax) / 16 : 0,
    iorcsz: isIo ? 1 : 0,
    icdoff: 0,
    fcatt: 0,
    msdbd: 1,
  });
}

function identify(controller: TargetController, command: Sqe, identity: TargetIdentity): CommandResult {
  const cns = command.cdw[0] & 0xff;
  const namespaces = controller.subsystem.namespaces;
  const nn = Math.max(0, ...namespaces.keys());
  switch (cns) {
    case IdentifyCns.Controller:
      return { status: 0, data: identifyController(controller, identity.serial, identity.firmware) };
    case IdentifyCns.Namespace: {
      if (command.nsid === 0 || (command.nsid > nn && command.nsid !== 0xffffffff)) {
        return failure(GenericStatus.InvalidNamespaceOrFormat);
      }
      const ns = namespaces.get(command.nsid);
      // An allocated-but-inactive NSID reads as an all-zero page.
      if (!ns) return { status: 0, data: Buffer.alloc(IDENTIFY_BYTES) };
      const blocks = BigInt(ns.backing.sizeBytes / ns.backing.blockSizeBytes);
      return {
        status: 0,
        data: encodeIdentifyNamespace({
          nsze: blocks,
          ncap: blocks,
          nuse: blocks,
          nsfeat: 0,
          nmic: 0,
          lbads: Math.log2(ns.backing.blockSizeBytes),
          nguid: ns.nguid,
          eui64: ns.eui64,
        }),
      };
    }
    case IdentifyCns.ActiveNamespaceList:
      if (command.nsid >= 0xfffffffe) return failure(GenericStatus.InvalidNamespaceOrFormat);
      return { status: 0, data: encodeActiveNamespaceList([...namespaces.keys()], command.nsid) };
    case IdentifyCns.NamespaceDescriptorList: {
      const ns = namespaces.get(command.nsid);
      if (!ns) return failure(GenericStatus.InvalidNamespaceOrFormat);
      return { status: 0, data: encodeNamespaceDescriptors(ns.nguid) };
    }
    case IdentifyCns.IoCommandSetController: {
      // Linux (VS ≥ 1.1) and SPDK ask for the NVM command set's controller data
      // (CSI 0 in CDW11 31:24). All-zero fields mean "no limits reported".
      const csi = command.cdw[1] >>> 24;
      if (csi !== 0 || controller.subsystem.kind !== 'nvm') return INVALID_FIELD;
      return { status: 0, data: Buffer.alloc(IDENTIFY_BYTES) };
    }
    default:
      return INVALID_FIELD;
  }
}

function setFeatures(controller: TargetController, command: Sqe): CommandResult {
  const fid = command.cdw[0] & 0xff;
  const value = command.cdw[1];
  switch (fid) {
    case FeatureId.NumberOfQueues: {
      const nsqr = value & 0xffff;
      const ncqr = value >>> 16;
      if (nsqr === 0xffff || ncqr === 0xffff) return INVALID_FIELD;
      if (controller.subsystem.kind !== 'nvm') return INVALID_FIELD;
      // Changing the count once I/O queues exist is a sequence error.
      if ([...controller.connectedQids].some((qid) => qid > 0)) return failure(GenericStatus.CommandSequenceError);
      const granted = Math.min(Math.max(nsqr, ncqr) + 1, TARGET_LIMITS.ioQueuesMax);
      controller.ioQueuesGranted = granted;
      return { status: 0, dw0: ((granted - 1) << 16) | (granted - 1) };
    }
    case FeatureId.AsyncEventConfiguration:
      controller.asyncEventConfig = value;
      return SUCCESS;
    case FeatureId.KeepAliveTimer:
      controller.katoMs = value;
      controller.touchKeepAlive();
      return SUCCESS;
    case FeatureId.VolatileWriteCache:
      controller.volatileWriteCacheEnabled = (value & 1) !== 0;
      return SUCCESS;
    default:
      return INVALID_FIELD;
  }
}

function getFeatures(controller: TargetController, command: Sqe): CommandResult {
  const fid = command.cdw[0] & 0xff;
  const select = (command.cdw[0] >> 8) & 0x7;
  if (select > 1 && select !== 3) return INVALID_FIELD;
  switch (fid) {
    case FeatureId.Arbitration:
    case FeatureId.PowerManagement:
    case FeatureId.ErrorRecovery:
    case FeatureId.InterruptCoalescing:
      return { status: 0, dw0: 0 };
    case FeatureId.TemperatureThreshold:
      // 0x0157 = 343 K, the usual default over-temperature threshold.
      return { status: 0, dw0: 0x0157 };
    case FeatureId.VolatileWriteCache:
      return { status: 0, dw0: controller.volatileWriteCacheEnabled ? 1 : 0 };
    case FeatureId.NumberOfQueues: {
      const granted = Math.max(controller.ioQueuesGranted, 1) - 1;
      return { status: 0, dw0: (granted << 16) | granted };
    }
    case FeatureId.AsyncEventConfiguration:
      return { status: 0, dw0: controller.asyncEventConfig };
    case FeatureId.KeepAliveTimer:
      return { status: 0, dw0: controller.katoMs };
    default:
      return INVALID_FIELD;
  }
}

/** Size in bytes of each log page this target knows, and its contents. */
function logPage(controller: TargetController, registry: ControllerRegistry, lid: number, localAddress: string | undefined): Buffer | undefined {
  const isIo = controller.subsystem.kind === 'nvm';
  switch (lid) {
    case LogPageId.Discovery:
      return isIo ? undefined : encodeDiscoveryLog(registry.generation, registry.discoveryEntries(localAddress));
    case LogPageId.ErrorInformation:
      return isIo ? Buffer.alloc(64 * 4) : undefined;
    case LogPageId.SmartHealth:
    case LogPageId.FirmwareSlot:
      return isIo ? Buffer.alloc(512) : undefined;
    case LogPageId.ChangedNamespaceList:
    case LogPageId.CommandsSupportedEffects:
      return isIo ? Buffer.alloc(4096) : undefined;
    default:
      return undefined;
  }
}

function getLogPage(controller: TargetController, registry: ControllerRegistry, command: Sqe, localAddress: string | undefined): CommandResult {
  const lid = command.cdw[0] & 0xff;
  const dwords = ((command.cdw[1] & 0xffff) * 0x10000 + (command.cdw[0] >>> 16)) + 1;
  const offsetBytes = command.cdw[2] + command.cdw[3] * 2 ** 32;
  if (offsetBytes % 4 !== 0) return INVALID_FIELD;
  const page = logPage(controller, registry, lid, localAddress);
  if (!page) return INVALID_FIELD;
  if (offsetBytes > page.length) return INVALID_FIELD;
  const lengthBytes = dwords * 4;
  if (lengthBytes > TARGET_LIMITS.maxTransferBytes) return failure(GenericStatus.InvalidField);
  const data = Buffer.alloc(lengthBytes);
  page.copy(data, 0, offsetBytes, Math.min(page.length, offsetBytes + lengthBytes));
  return { status: 0, data };
}

export interface TargetIdentity {
  serial: string;
  firmware: string;
}

/** Runs one admin command (Connect is the connection's job and never reaches here). */
export function executeAdmin(
  controller: TargetController,
  registry: ControllerRegistry,
  command: Sqe,
  raw: Buffer,
  environment: TargetIdentity & { flush: () => Promise<void>; localAddress: string | undefined },
): CommandResult {
  if (command.opcode === AdminOpcode.Fabrics) {
    const fctype = fctypeOf(raw);
    if (fctype === FabricsType.PropertyGet) return propertyGet(controller, raw);
    if (fctype === FabricsType.PropertySet) return propertySet(controller, raw, environment.flush);
    if (fctype === FabricsType.Connect) return failure(GenericStatus.CommandSequenceError);
    return INVALID_FIELD;
  }
  // Only fabrics commands may run before the host enables the controller.
  if (!controller.enabled) return failure(GenericStatus.CommandSequenceError);
  switch (command.opcode) {
    case AdminOpcode.Identify:
      return identify(controller, command, environment);
    case AdminOpcode.SetFeatures:
      return setFeatures(controller, command);
    case AdminOpcode.GetFeatures:
      return getFeatures(controller, command);
    case AdminOpcode.GetLogPage:
      return getLogPage(controller, registry, command, environment.localAddress);
    case AdminOpcode.KeepAlive:
      return SUCCESS;
    case AdminOpcode.AsyncEventRequest:
      if (controller.pendingAers >= TARGET_LIMITS.aerMax) {
        return failure(0x05, { sct: Sct.CommandSpecific, dnr: true }); // Asynchronous Event Request Limit Exceeded
      }
      controller.pendingAers += 1;
      return { status: 0, held: true };
    case AdminOpcode.Abort:
      // DW0 bit 0 = 1: the command was not aborted (commands here are short; we let them finish).
      return { status: 0, dw0: 1 };
    default:
      return failure(GenericStatus.InvalidOpcode);
  }
}
