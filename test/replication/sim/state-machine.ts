// The simulator's replicated state machine: it records which commands it
// applied, in order, and a rolling hash of them. Reads return (appliedIndex,
// hash), which the checker compares with what every other node applied.
import { native } from '../../../src/backends/native.js';
import type { Entry } from '../../../src/replication/raft/types.js';

export class SimStateMachine {
  appliedIndex = 0;
  hash = 0;
  /** Command ids in apply order (the no-op and conf changes are not commands). */
  commands: string[] = [];

  apply(entry: Entry): void {
    if (entry.index !== this.appliedIndex + 1) {
      throw new Error(`state machine applies ${entry.index} after ${this.appliedIndex}`);
    }
    this.appliedIndex = entry.index;
    if (entry.type === 0 && entry.data.length > 0) {
      this.hash = native.crc32c(entry.data, this.hash);
      this.commands.push(entry.data.toString());
    }
  }

  snapshot(): Buffer {
    return Buffer.from(JSON.stringify({ appliedIndex: this.appliedIndex, hash: this.hash, commands: this.commands }));
  }

  restore(data: Buffer): void {
    const s = JSON.parse(data.toString()) as { appliedIndex: number; hash: number; commands: string[] };
    this.appliedIndex = s.appliedIndex;
    this.hash = s.hash;
    this.commands = s.commands;
  }
}
