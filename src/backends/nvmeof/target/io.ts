// NVM command set on the target: validates Read / Write / Flush against the
// namespace and the SGL, and runs them on the namespace's BackingStore.
// Acknowledgement rules: a Flush completes after BackingStore.flush() resolves;
// a FUA write (or any write while the host turned the volatile write cache off)
// completes after the write is durable.
import { GenericStatus, IoOpcode, SglId } from '../constants.js';
import { lbaRange, type Sqe } from '../sqe.js';
import { type CommandResult, failure, SUCCESS } from './admin.js';
import { type ExportedNamespace, TARGET_LIMITS, type TargetController } from './controller.js';

export type IoPlan =
  | { kind: 'read'; ns: ExportedNamespace; offsetBytes: number; lengthBytes: number }
  | { kind: 'write'; ns: ExportedNamespace; offsetBytes: number; lengthBytes: number; fua: boolean; inCapsule: boolean }
  | { kind: 'flush'; namespaces: ExportedNamespace[] };

const ALL_NAMESPACES = 0xffffffff;

/** Checks an I/O command; returns what to do or the failure to report. */
export function planIo(controller: TargetController, command: Sqe, inCapsuleBytes: number): IoPlan | CommandResult {
  const namespaces = controller.subsystem.namespaces;
  if (command.opcode === IoOpcode.Flush) {
    if (command.nsid === ALL_NAMESPACES) return { kind: 'flush', namespaces: [...namespaces.values()] };
    const ns = namespaces.get(command.nsid);
    if (!ns) return failure(GenericStatus.InvalidNamespaceOrFormat);
    return { kind: 'flush', namespaces: [ns] };
  }
  if (command.opcode !== IoOpcode.Read && command.opcode !== IoOpcode.Write) return failure(GenericStatus.InvalidOpcode);
  const ns = namespaces.get(command.nsid);
  if (!ns) return failure(GenericStatus.InvalidNamespaceOrFormat);
  const { slba, blocks, fua } = lbaRange(command);
  const blockSize = ns.backing.blockSizeBytes;
  const namespaceBlocks = BigInt(ns.backing.sizeBytes / blockSize);
  if (slba + BigInt(blocks) > namespaceBlocks) return failure(GenericStatus.LbaOutOfRange);
  const lengthBytes = blocks * blockSize;
  if (lengthBytes > TARGET_LIMITS.maxTransferBytes) return failure(GenericStatus.InvalidField);
  const sgl = command.sgl;
  if (sgl.lengthBytes !== lengthBytes) return failure(GenericStatus.DataSglLengthInvalid);
  const offsetBytes = Number(slba) * blockSize;
  if (command.opcode === IoOpcode.Read) {
    if (sgl.id !== SglId.TransportDataBlock) return failure(GenericStatus.SglDescriptorTypeInvalid);
    return { kind: 'read', ns, offsetBytes, lengthBytes };
  }
  if (sgl.id === SglId.InCapsule) {
    if (sgl.address !== 0n) return failure(GenericStatus.InvalidSglOffset);
    if (inCapsuleBytes !== lengthBytes) return failure(GenericStatus.DataSglLengthInvalid);
  } else if (sgl.id !== SglId.TransportDataBlock) {
    return failure(GenericStatus.SglDescriptorTypeInvalid);
  } else if (inCapsuleBytes !== 0) {
    return failure(GenericStatus.DataSglLengthInvalid);
  }
  const durable = fua || !controller.volatileWriteCacheEnabled;
  return { kind: 'write', ns, offsetBytes, lengthBytes, fua: durable, inCapsule: sgl.id === SglId.InCapsule };
}

export function isPlan(value: IoPlan | CommandResult): value is IoPlan {
  return 'kind' in value;
}

export async function runRead(plan: Extract<IoPlan, { kind: 'read' }>): Promise<CommandResult> {
  const data = await plan.ns.backing.read(plan.offsetBytes, plan.lengthBytes);
  return { status: 0, data };
}

export async function runWrite(plan: Extract<IoPlan, { kind: 'write' }>, data: Buffer): Promise<CommandResult> {
  await plan.ns.backing.write(plan.offsetBytes, data, { fua: plan.fua });
  return SUCCESS;
}

export async function runFlush(plan: Extract<IoPlan, { kind: 'flush' }>): Promise<CommandResult> {
  await Promise.all(plan.namespaces.map((ns) => ns.backing.flush()));
  return SUCCESS;
}
