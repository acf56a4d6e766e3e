// The vocabulary of the Raft core: log entries, hard state, snapshots, the
// messages peers exchange and the Ready batch the core hands to its shell.
// Everything here is plain data so that it can be encoded on the wire, stored
// on disk and compared in the simulator. Node ids are positive integers; 0 means
// "nobody" (no vote, no known leader).

export type NodeId = number;
export const NO_NODE: NodeId = 0;

export const EntryType = { Normal: 0, ConfChange: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Command bytes (Normal) or an encoded ConfChange (ConfChange). Empty for the leader's no-op. */
  readonly data: Buffer;
}

/** What must be durable before a node answers a message or counts itself toward a quorum. */
export interface HardState {
  readonly term: number;
  /** Who this node voted for in `term` (NO_NODE when it has not voted). */
  readonly vote: NodeId;
  /** Highest index known committed. Durable only as a hint: it is re-learned after restart. */
  readonly commit: number;
}

/** Cluster membership: only voters exist (no learners yet). */
export interface ConfState {
  readonly voters: readonly NodeId[];
}

export interface SnapshotMeta {
  /** Last log index the snapshot covers, and that entry's term. */
  readonly index: number;
  readonly term: number;
  /** Membership as of `index`. */
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialised state at meta.index. */
  readonly data: Buffer;
}

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** RequestVote (PreVote when `pre`). `term` is the term the candidate will run in. */
export interface VoteMessage extends MessageBase {
  readonly type: 'Vote' | 'PreVote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set by a leader transfer: voters ignore their leader lease (CheckQuorum) for it. */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'VoteResp' | 'PreVoteResp';
  readonly reject: boolean;
}

/** AppendEntries: entries follow (prevIndex, prevTerm); `commit` is the leader's commit index. */
export interface AppendMessage extends MessageBase {
  readonly type: 'App';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponse extends MessageBase {
  readonly type: 'AppResp';
  /** On success: the follower's log matches the leader's up to `index`. On reject: the rejected prevIndex. */
  readonly index: number;
  readonly reject: boolean;
  /** On reject: a (index, term) of the follower's log at or below which the leader should probe next. */
  readonly hintIndex: number;
  readonly hintTerm: number;
}

/** Heartbeats carry a ReadIndex context when they confirm leadership for reads ('' otherwise). */
export interface HeartbeatMessage extends MessageBase {
  readonly type: 'Heartbeat';
  readonly commit: number;
  readonly context: string;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'HeartbeatResp';
  readonly context: string;
}

export interface SnapshotMessage extends MessageBase {
  readonly type: 'Snap';
  readonly snapshot: Snapshot;
}

/** A follower forwards a linearizable read request to its leader. */
export interface ReadIndexMessage extends MessageBase {
  readonly type: 'ReadIndex';
  readonly context: string;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: 'ReadIndexResp';
  readonly index: number;
  readonly context: string;
}

/** Leader transfer: the leader tells an up-to-date target to campaign now. */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'TimeoutNow';
}

/** A follower forwards a leader-transfer request to its leader. */
export interface TransferLeaderMessage extends MessageBase {
  readonly type: 'TransferLeader';
  readonly target: NodeId;
}

export type Message =
  | VoteMessage
  | VoteResponse
  | AppendMessage
  | AppendResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | ReadIndexMessage
  | ReadIndexResponse
  | TimeoutNowMessage
  | TransferLeaderMessage;

export type MessageType = Message['type'];

/** A read request confirmed by a quorum: it is linearizable once the state machine has applied `index`. */
export interface ReadState {
  readonly index: number;
  readonly context: string;
}

/** A read request the core could not serve (no leader known, or leadership lost before confirmation). */
export interface ReadFailure {
  readonly context: string;
  readonly reason: string;
}

export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

/**
 * One batch of work for the shell. The shell must handle it in this order:
 *   1. persist `snapshot` (if any), then `entries` (truncating the stored log at
 *      entries[0].index), then `hardState` (if any), and fsync once;
 *   2. send `messages`;
 *   3. install `snapshot` into the state machine, then apply `committedEntries`
 *      in order; hand out `readStates` once applied ≥ their index;
 *   4. call advance().
 */
export interface Ready {
  readonly softState: SoftState;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  readonly readFailures: readonly ReadFailure[];
  /**
   * Whether the persisted state must be fsync'd before sending: true when
   * entries, a snapshot, the term or the vote changed. A change of the commit
   * index alone need not be synced (it is re-learned after a restart).
   */
  readonly mustSync: boolean;
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NO_NODE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
