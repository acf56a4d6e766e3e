// Operating errors the core reports to callers (not bugs: those are assertions).
import type { NodeId } from './types.js';

/** A proposal was refused; `leader` is a hint where to retry (NO_NODE when unknown). */
export class ProposalDroppedError extends Error {
  constructor(
    readonly reason: 'not-leader' | 'transferring' | 'conf-change-pending' | 'too-large',
    readonly leader: NodeId,
  ) {
    super(`proposal dropped: ${reason}${leader ? ` (leader is ${leader})` : ''}`);
    this.name = 'ProposalDroppedError';
  }
}
