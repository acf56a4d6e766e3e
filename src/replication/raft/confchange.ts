// Membership changes, one server at a time (Raft dissertation §4.1). A change
// is a ConfChange log entry; it takes effect on every node when that node
// learns the entry is committed (the leader allows one uncommitted change at a
// time, so any two consecutive configurations differ by one voter and their
// majorities overlap). The cluster's first configuration is a 'bootstrap'
// change written identically at index 1 on every founding member, so that a
// node added later learns the whole membership by replaying the log.
import type { ConfState, NodeId } from './types.js';

export type ConfChange =
  | { readonly op: 'add'; readonly nodeId: NodeId }
  | { readonly op: 'remove'; readonly nodeId: NodeId }
  | { readonly op: 'bootstrap'; readonly voters: readonly NodeId[] };

const OP_ADD = 1;
const OP_REMOVE = 2;
const OP_BOOTSTRAP = 3;

export class ConfChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfChangeError';
  }
}

export function encodeConfChange(cc: ConfChange): Buffer {
  if (cc.op === 'bootstrap') {
    const buf = Buffer.alloc(3 + 4 * cc.voters.length);
    buf.writeUInt8(OP_BOOTSTRAP, 0);
    buf.writeUInt16BE(cc.voters.length, 1);
    cc.voters.forEach((id, i) => buf.writeUInt32BE(id, 3 + 4 * i));
    return buf;
  }
  const buf = Buffer.alloc(5);
  buf.writeUInt8(cc.op === 'add' ? OP_ADD : OP_REMOVE, 0);
  buf.writeUInt32BE(cc.nodeId, 1);
  return buf;
}

export function decodeConfChange(data: Buffer): ConfChange {
  if (data.length < 1) throw new ConfChangeError('empty conf change');
  const op = data.readUInt8(0);
  if (op === OP_BOOTSTRAP) {
    if (data.length < 3) throw new ConfChangeError('short bootstrap conf change');
    const count = data.readUInt16BE(1);
    if (data.length !== 3 + 4 * count) throw new ConfChangeError('bad bootstrap conf change length');
    const voters: NodeId[] = [];
    for (let i = 0; i < count; i++) voters.push(data.readUInt32BE(3 + 4 * i));
    return { op: 'bootstrap', voters };
  }
  if (data.length !== 5) throw new ConfChangeError('bad conf change length');
  const nodeId = data.readUInt32BE(1);
  if (op === OP_ADD) return { op: 'add', nodeId };
  if (op === OP_REMOVE) return { op: 'remove', nodeId };
  throw new ConfChangeError(`unknown conf change op ${op}`);
}

/** The configuration after applying `cc` to `conf`. Voters stay sorted. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  switch (cc.op) {
    case 'bootstrap':
      return { voters: [...new Set(cc.voters)].sort((a, b) => a - b) };
    case 'add':
      if (conf.voters.includes(cc.nodeId)) return conf;
      return { voters: [...conf.voters, cc.nodeId].sort((a, b) => a - b) };
    case 'remove':
      return { voters: conf.voters.filter((id) => id !== cc.nodeId) };
  }
}
