// A Raft node process replicating the small KV state machine: used by the
// real-process test and the benchmarks (three of these on 127.0.0.1).
//
//   node dist/src/replication/kv-node-main.js --id 1 --dir DIR --bootstrap 1,2,3
//        [--raft-port 0] [--api-port 0] [--peers 1=127.0.0.1:7001,2=...]
//        [--tick-ms 20] [--election-ticks 10] [--snapshot-every 10000] [--snapshot-keep 1000]
//        [--parent-pid PID]   (exit when that process is gone: no orphans from a killed test)
//
// Prints `READY {"id":1,"raftPort":…,"apiPort":…}` once listening. Without
// --peers it waits for POST /peers before starting Raft (so that tests can
// use port 0 everywhere). HTTP API on 127.0.0.1:
//   POST /put?key=K (body = value)  → 200 {"index"} | 421 {"leader"} | 503
//   GET  /get?key=K                 → linearizable read: 200 value | 404
//   GET  /status                    → role, term, leader, indexes, digest
//   POST /peers (JSON {"id":"host:port"}), POST /transfer?to=N,
//   POST /members?add=N | ?remove=N  (one voter at a time; on the leader)
// A node started without --bootstrap joins an existing cluster: it waits to
// be added by the leader and learns the membership from the log.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LogStore } from './storage/log-store.js';
import { TcpTransport, type PeerAddress } from './transport/tcp-transport.js';
import { RaftNode, RaftTimeoutError } from './node.js';
import { ProposalDroppedError } from './raft/errors.js';
import { KvStateMachine, encodePut } from './kv-state-machine.js';
import type { NodeId } from './raft/types.js';

interface Args {
  id: NodeId;
  dir: string;
  bootstrap: NodeId[] | undefined;
  raftPort: number;
  apiPort: number;
  peers: Map<NodeId, PeerAddress> | null;
  tickMs: number;
  electionTicks: number;
  snapshotEvery: number;
  snapshotKeep: number;
  parentPid: number | null;
}

function parsePeers(spec: string): Map<NodeId, PeerAddress> {
  const peers = new Map<NodeId, PeerAddress>();
  for (const part of spec.split(',').filter((p) => p !== '')) {
    const [id, addr] = part.split('=');
    const [host, port] = (addr ?? '').split(':');
    if (id === undefined || host === undefined || port === undefined) throw new Error(`bad peer ${part}`);
    peers.set(Number(id), { host, port: Number(port) });
  }
  return peers;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const id = Number(get('id'));
  const dir = get('dir');
  if (!Number.isInteger(id) || id <= 0 || dir === undefined) throw new Error('usage: --id N --dir DIR [--bootstrap 1,2,3]');
  const bootstrap = get('bootstrap');
  const peers = get('peers');
  return {
    id,
    dir,
    bootstrap: bootstrap === undefined ? undefined : bootstrap.split(',').map(Number),
    raftPort: Number(get('raft-port') ?? 0),
    apiPort: Number(get('api-port') ?? 0),
    peers: peers === undefined ? null : parsePeers(peers),
    tickMs: Number(get('tick-ms') ?? 20),
    electionTicks: Number(get('election-ticks') ?? 10),
    snapshotEvery: Number(get('snapshot-every') ?? 10_000),
    snapshotKeep: Number(get('snapshot-keep') ?? 1000),
    parentPid: get('parent-pid') === undefined ? null : Number(get('parent-pid')),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-length': data.length });
  res.end(data);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.parentPid !== null) {
    const parentPid = args.parentPid;
    setInterval(() => {
      try {
        process.kill(parentPid, 0);
      } catch {
        process.exit(3);
      }
    }, 500).unref();
  }
  const opened = await LogStore.open(args.dir);
  if (opened.repairedBytes > 0) console.error(`node ${args.id}: repaired a torn WAL tail of ${opened.repairedBytes} bytes`);
  const transport = await TcpTransport.listen({ port: args.raftPort, peers: args.peers ?? undefined });
  const sm = new KvStateMachine();
  let node: RaftNode<number> | null = null;
  const startRaft = async (): Promise<void> => {
    if (node !== null) return;
    node = await RaftNode.start({
      id: args.id,
      log: opened.store,
      initial: opened.initial,
      bootstrapVoters: args.bootstrap,
      stateMachine: sm,
      transport,
      tickMs: args.tickMs,
      core: { electionTimeoutTicks: args.electionTicks, heartbeatIntervalTicks: 1 },
      snapshotEveryEntries: args.snapshotEvery,
      snapshotKeepEntries: args.snapshotKeep,
      onFatal: (error) => {
        console.error(`node ${args.id}: fatal: ${error.message}`);
        process.exit(2);
      },
    });
  };
  if (args.peers !== null) await startRaft();

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      try {
        if (req.method === 'POST' && url.pathname === '/peers') {
          const spec = JSON.parse((await readBody(req)).toString()) as Record<string, string>;
          transport.setPeers(parsePeers(Object.entries(spec).map(([id, a]) => `${id}=${a}`).join(',')));
          await startRaft();
          reply(res, 200, { ok: true });
          return;
        }
        if (node === null) {
          reply(res, 503, { error: 'raft not started (waiting for peers)' });
          return;
        }
        if (req.method === 'POST' && url.pathname === '/put') {
          const value = await readBody(req);
          const index = await node.propose(encodePut(url.searchParams.get('key') ?? '', value));
          reply(res, 200, { index });
        } else if (req.method === 'GET' && url.pathname === '/get') {
          await node.linearizableRead();
          const value = sm.data.get(url.searchParams.get('key') ?? '');
          if (value === undefined) reply(res, 404, { error: 'no such key' });
          else reply(res, 200, value);
        } else if (req.method === 'GET' && url.pathname === '/status') {
          reply(res, 200, { ...node.status(), digest: sm.digest(), keys: sm.data.size });
        } else if (req.method === 'POST' && url.pathname === '/members') {
          const add = url.searchParams.get('add');
          const remove = url.searchParams.get('remove');
          if (add !== null) await node.changeMembership({ op: 'add', nodeId: Number(add) });
          else if (remove !== null) await node.changeMembership({ op: 'remove', nodeId: Number(remove) });
          else throw new Error('add= or remove= required');
          reply(res, 200, node.status());
        } else if (req.method === 'POST' && url.pathname === '/transfer') {
          node.transferLeadership(Number(url.searchParams.get('to')));
          reply(res, 200, { ok: true });
        } else {
          reply(res, 404, { error: 'no such route' });
        }
      } catch (error) {
        if (error instanceof ProposalDroppedError) reply(res, 421, { error: error.message, leader: error.leader });
        else if (error instanceof RaftTimeoutError) reply(res, 503, { error: error.message });
        else reply(res, 500, { error: (error as Error).message });
      }
    })();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(args.apiPort, '127.0.0.1', resolve));
  const apiAddress = server.address();
  const apiPort = typeof apiAddress === 'object' && apiAddress !== null ? apiAddress.port : 0;
  process.stdout.write(`READY ${JSON.stringify({ id: args.id, raftPort: transport.address().port, apiPort })}\n`);

  const shutdown = async (): Promise<void> => {
    await (node as RaftNode<number> | null)?.stop();
    await transport.close();
    await opened.store.close();
    server.closeAllConnections();
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

main().catch((error: unknown) => {
  console.error(`kv-node: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
