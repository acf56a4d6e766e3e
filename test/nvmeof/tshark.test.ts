// Goal: an independent decoder agrees with our wire format. A session between
// our initiator and our target (discovery, bring-up, in-capsule and R2T writes,
// reads, flush, shutdown; once without digests, once with header and data
// digests) is recorded by a loopback proxy that sees every byte, written as a
// pcap (synthesised IPv4/TCP around the recorded stream; no capture privileges
// needed), and decoded by Wireshark's tshark: every PDU must decode as NVMe/TCP,
// nothing may be malformed or unknown, and every digest must check Good.
// CI installs tshark (.ci/run); elsewhere the test is skipped if tshark is absent.
// NVMEOF_KEEP_PCAP=DIR keeps the pcap for inspection.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, discover } from '../../src/backends/nvmeof/index.js';
import { splitPdus, writePcap } from './helpers/pcap.js';
import { startProxy } from './helpers/proxy.js';
import { pattern, startTarget, tempDirectory } from './helpers/target.js';

const tsharkPresent = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

t.test('tshark decodes a recorded initiator ↔ target session', { skip: !tsharkPresent && !process.env.CI ? 'tshark is not installed' : false }, async (t) => {
  t.ok(tsharkPresent, 'tshark is installed (CI installs it)');
  const { port } = await startTarget(t, { sizeBytes: 8 * 1024 * 1024, maxH2CDataBytes: 128 * 1024 });
  const proxy = await startProxy({ targetPort: port });
  t.teardown(() => proxy.close());
  await discover({ host: '127.0.0.1', port: proxy.port });
  for (const digests of ['', 'hdgst=1&ddgst=1']) {
    const ns = await connect(`nvme-tcp://127.0.0.1:${proxy.port}/nqn.2026-01.io.strata.test:ns1?${digests}`, { ioQueues: 2, katoMs: 0 });
    await ns.write(0, pattern(4096, 1)); // in-capsule
    await ns.write(8192, pattern(200 * 1024, 2)); // R2T, two H2CData PDUs (MAXH2CDATA 128 KiB)
    await ns.flush();
    await ns.write(4096, pattern(512, 3), { fua: true });
    t.same(await ns.read(8192, 200 * 1024), pattern(200 * 1024, 2));
    await ns.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
  const directory = tempDirectory(t);
  const path = join(directory, 'session.pcap');
  writeFileSync(path, writePcap(proxy.connections));
  if (process.env.NVMEOF_KEEP_PCAP) copyFileSync(path, join(process.env.NVMEOF_KEEP_PCAP, 'strata-nvme-tcp-session.pcap'));
  // Our own count of PDUs in the recording, to compare with tshark's.
  let pdusRecorded = 0;
  for (const connection of proxy.connections) {
    for (const fromClient of [true, false]) {
      pdusRecorded += splitPdus(Buffer.concat(connection.chunks.filter((c) => c.fromClient === fromClient).map((c) => c.bytes))).length;
    }
  }
  const tshark = (extra: string[]) =>
    execFileSync('tshark', ['-r', path, '-d', `tcp.port==${port},nvme-tcp`, '-o', 'nvme-tcp.check_hdgst:TRUE', '-o', 'nvme-tcp.check_ddgst:TRUE', ...extra], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const rows = tshark(['-T', 'fields', '-E', 'occurrence=a', '-E', 'separator=|', '-e', 'frame.number', '-e', 'nvme-tcp.type', '-e', 'nvme-tcp.hdgst.status', '-e', 'nvme-tcp.ddgst.status', '-e', '_ws.col.Info'])
    .trim()
    .split('\n')
    .map((line) => line.split('|'));
  const types = rows.flatMap((row) => (row[1] ? row[1].split(',') : []));
  t.equal(types.length, pdusRecorded, `tshark decoded ${types.length} NVMe/TCP PDUs; the recording holds ${pdusRecorded}`);
  t.same([...new Set(types)].sort((a, b) => Number(a) - Number(b)), ['0', '1', '4', '5', '6', '7', '9'], 'IC, capsules, H2C/C2H data and R2T all present');
  const hdgst = rows.flatMap((row) => (row[2] ? row[2].split(',') : []));
  const ddgst = rows.flatMap((row) => (row[3] ? row[3].split(',') : []));
  t.ok(hdgst.length > 20, `${hdgst.length} header digests checked`);
  t.ok(ddgst.length > 5, `${ddgst.length} data digests checked`);
  t.same([...new Set(hdgst)], ['1'], 'every header digest is Good');
  t.same([...new Set(ddgst)], ['1'], 'every data digest is Good');
  const infos = rows.map((row) => row[4] ?? '');
  t.same(infos.filter((info) => /unknown|malformed|bogus|reserved/i.test(info)), [], 'no unknown or malformed PDU or command in the summary');
  const problems = tshark(['-Y', '_ws.malformed || _ws.expert.severity >= "warning"', '-T', 'fields', '-e', 'frame.number', '-e', '_ws.expert.message']).trim();
  t.equal(problems, '', 'no malformed packets and no expert warnings or errors');
  // Negative control: the same recording with one digested header byte flipped must show a Bad digest.
  const tampered = proxy.connections.map((connection) => ({ ...connection, chunks: connection.chunks.map((c) => ({ ...c, bytes: Buffer.from(c.bytes) })) }));
  const victim = tampered.flatMap((c) => c.chunks).find((c) => !c.fromClient && c.bytes[0] === 5 && (c.bytes[1]! & 1) === 1)!;
  victim.bytes[12] ^= 0xff;
  const tamperedPath = join(directory, 'tampered.pcap');
  writeFileSync(tamperedPath, writePcap(tampered));
  const tamperedStatuses = execFileSync(
    'tshark',
    ['-r', tamperedPath, '-d', `tcp.port==${port},nvme-tcp`, '-o', 'nvme-tcp.check_hdgst:TRUE', '-T', 'fields', '-E', 'occurrence=a', '-e', 'nvme-tcp.hdgst.status'],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.ok(tamperedStatuses.split(/[\n,]/).includes('0'), 'tshark flags a flipped header byte as a Bad digest (the check can fail)');
  const commands = tshark(['-T', 'fields', '-E', 'occurrence=a', '-e', '_ws.col.Info']);
  for (const expected of ['Initialize Connection Request', 'NVMeOF Connect', 'Property Get Controller Capabilities', 'Property Set Controller Configuration', 'Identify Controller', 'Get Log Page NVMeOF Discovery', 'Set Features', 'NVMe Write', 'NVMe Read', 'NVMe Flush', 'Ready To Transfer']) {
    t.ok(commands.includes(expected), `tshark names "${expected}"`);
  }
});
