// The single-node MetaLog: a command is "committed" when its LMDB transaction
// is durably committed on this node (LMDB fdatasyncs before the promise
// resolves). lmdb-js batches the transactions of one event-loop turn into one
// commit, so concurrent writers share the fsync.
import type { CommandResult, MetaCommand } from '../object/commands.js';
import type { MetaLog } from '../object/meta-log.js';
import type { MetaStateMachine } from '../object/state-machine.js';

export class LocalMetaLog implements MetaLog {
  constructor(private readonly stateMachine: MetaStateMachine) {}

  propose<C extends MetaCommand>(command: C): Promise<CommandResult<C['type']>> {
    return this.stateMachine.apply(command);
  }

  /** Every committed command is already applied locally: nothing to wait for. */
  async readBarrier(): Promise<void> {}
}
