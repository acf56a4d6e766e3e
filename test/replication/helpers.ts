// Test helpers: build RaftCores and a synchronous in-memory network that
// drives them the way the shell does (ready → persist → send → apply → advance)
// until nothing is left to do. Tests can cut links, drop message types and
// inspect what each node applied.
import { RaftCore, bootstrapState, type RaftCoreOptions } from '../../src/replication/raft/core.js';
import type { Entry, Message, MessageType, NodeId, ReadFailure, ReadState } from '../../src/replication/raft/types.js';
import { Rng } from './sim/rng.js';

export type CoreOverrides = Partial<Omit<RaftCoreOptions, 'id' | 'random'>>;

export function newCore(id: NodeId, voters: readonly NodeId[], overrides: CoreOverrides = {}, seed = id): RaftCore {
  const rng = new Rng(seed);
  return new RaftCore({
    id,
    initial: overrides.initial ?? bootstrapState(voters),
    electionTimeoutTicks: 10,
    heartbeatIntervalTicks: 1,
    ...overrides,
    random: () => rng.next(),
  });
}

export class Net {
  readonly cores = new Map<NodeId, RaftCore>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  readonly readFailures = new Map<NodeId, ReadFailure[]>();
  readonly snapshotsInstalled = new Map<NodeId, number[]>();
  /** Every message delivered or dropped, in order (for assertions on traffic). */
  readonly sent: Message[] = [];
  private readonly cut = new Set<string>();
  private readonly droppedTypes = new Set<MessageType>();

  constructor(voters: readonly NodeId[], overrides: CoreOverrides = {}) {
    for (const id of voters) this.add(newCore(id, voters, overrides));
  }

  add(core: RaftCore): void {
    this.cores.set(core.id, core);
    this.applied.set(core.id, []);
    this.readStates.set(core.id, []);
    this.readFailures.set(core.id, []);
    this.snapshotsInstalled.set(core.id, []);
  }

  core(id: NodeId): RaftCore {
    const c = this.cores.get(id);
    if (c === undefined) throw new Error(`no node ${id}`);
    return c;
  }

  isolate(id: NodeId): void {
    for (const other of this.cores.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
    this.droppedTypes.clear();
  }

  drop(type: MessageType): void {
    this.droppedTypes.add(type);
  }

  /** Handle every pending Ready and deliver messages until the network is quiet. */
  stabilize(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const inFlight: Message[] = [];
      for (const [id, core] of this.cores) {
        if (!core.hasReady()) continue;
        const rd = core.ready();
        inFlight.push(...rd.messages);
        if (rd.snapshot !== null) this.snapshotsInstalled.get(id)!.push(rd.snapshot.meta.index);
        this.applied.get(id)!.push(...rd.committedEntries);
        this.readStates.get(id)!.push(...rd.readStates);
        this.readFailures.get(id)!.push(...rd.readFailures);
        core.advance();
      }
      if (inFlight.length === 0 && ![...this.cores.values()].some((c) => c.hasReady())) return;
      for (const m of inFlight) this.deliver(m);
    }
    throw new Error('network did not stabilise');
  }

  deliver(m: Message): void {
    this.sent.push(m);
    if (this.cut.has(`${m.from}>${m.to}`) || this.droppedTypes.has(m.type)) return;
    this.cores.get(m.to)?.step(m);
  }

  tick(id: NodeId, ticks = 1): void {
    for (let i = 0; i < ticks; i++) this.core(id).tick();
  }

  /** Tick every node once per round, stabilising between rounds. */
  tickAll(rounds: number): void {
    for (let i = 0; i < rounds; i++) {
      for (const c of this.cores.values()) c.tick();
      this.stabilize();
    }
  }

  /** Elect `id` by timing it out first. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.stabilize();
    if (this.core(id).role !== 'leader') throw new Error(`node ${id} did not win (role ${this.core(id).role})`);
  }

  /** Commands (non-empty normal entries) applied by a node, as strings. */
  commands(id: NodeId): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.type === 0 && e.data.length > 0)
      .map((e) => e.data.toString());
  }
}
