// The object layer's view of replication: a log that commits metadata commands.
// Single node: LocalMetaLog (src/replication) applies each command in one durable
// LMDB transaction. Cluster: a Raft log commits on a quorum, then applies.
import type { CommandResult, MetaCommand } from './commands.js';

export interface MetaLog {
  /**
   * Commits the command and applies it on this node. Resolves only after the
   * command is durable (fsync'd locally, or held by a quorum) and applied, with
   * the state machine's result (which may be a deterministic refusal).
   */
  propose<C extends MetaCommand>(command: C): Promise<CommandResult<C['type']>>;
  /** Resolves when local reads reflect every command committed before the call. */
  readBarrier(): Promise<void>;
}
