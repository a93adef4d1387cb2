/**
 * The driver's cost per close record, this tree's flow table against a base revision's, on the
 * same real records: short connections run in a namespace pair with the real driver watching,
 * every close record its flow table is handed is copied (tests/probes/tcp/close_records.ts),
 * then both tables are fed those records, in alternating rounds (ABBA) so drift cancels, each
 * record as the ring buffer hands it (a DataView of its own at offset 0).
 *
 * The base's probes/tcp and ffi are taken with `git archive` into a temporary directory and
 * imported from there, so both run in one process on one JIT. The runner runs the driver with
 * V8 flags of its own (deno.json task start: `--max-opt=2` among them); pass them with
 * `deno run --v8-flags=...` to measure under them.
 *
 * Each table first holds `--live N` open connections (default 1,000, listed by one read), as a
 * host with long-lived connections next to the short ones would: each close record then looks
 * its socket up among them. They are copies of the captured records listed as live, with socket
 * addresses of their own.
 *
 * Run: deno run -A --unstable-kv bench/tcp_record_cost_bench.ts [--base REV] [--conns N]
 *        [--rounds N] [--live N]
 */

import { type FlowBuckets, FlowTable } from "../probes/tcp/flows.ts";
import { KIND, TcpSnap } from "../probes/tcp/layout.ts";
import { captureCloseRecords } from "../tests/probes/tcp/close_records.ts";
import { extractRevision } from "./base_revision.ts";

const args = [...Deno.args];
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : d;
};
const base = opt("--base", "main");
const conns = Number(opt("--conns", "3000"));
const rounds = Number(opt("--rounds", "20"));
const liveConns = Number(opt("--live", "1000"));
/** Passes over the records per timed round. */
const PASSES = 5;

/** The base revision's flow table, from its own source. */
async function baseFlowTable(rev: string): Promise<typeof FlowTable> {
  const dir = await extractRevision(rev, ["probes/tcp", "ffi", "runner"]);
  return (await import(`${dir}/probes/tcp/flows.ts`)).FlowTable;
}

const BUCKETS: FlowBuckets = {
  connectLatency: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
  synRtt: [0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1],
};

const Old = await baseFlowTable(base);
const records = await captureCloseRecords(conns, { complete: false });
const views = Array.from(
  { length: records.count },
  (_, i) => new DataView(records.bytes.buffer, i * TcpSnap.size, TcpSnap.size),
);

/** A read listing `n` connections: captured records, kind LIVE, sockets of their own. */
function liveReadOf(n: number): Uint8Array {
  const read = new Uint8Array(n * TcpSnap.size);
  for (let i = 0; i < n; i++) {
    const at = i * TcpSnap.size;
    read.set(records.bytes.subarray(0, TcpSnap.size), at);
    read[at + TcpSnap.offsets.kind] = KIND.LIVE;
    const dv = new DataView(read.buffer, at);
    dv.setUint32(TcpSnap.offsets.sk, i * 4096, true);
    dv.setUint16(TcpSnap.offsets.sk + 4, dv.getUint16(TcpSnap.offsets.sk + 4, true) ^ 0x8000, true);
  }
  return read;
}
const liveRead = liveReadOf(liveConns);
/** The periodic read of a host with many open connections. */
const READ_CONNS = 10_000;
const bigRead = liveReadOf(READ_CONNS);

/** ns per record of one round: a fresh table holding the live connections fed every record PASSES times. */
function round(Table: typeof FlowTable): number {
  const t = new Table(BUCKETS, 100);
  t.beginRead(0);
  t.onRead([liveRead]);
  if (t.liveConnections !== liveConns) throw new Error(`${t.liveConnections} live connections`);
  const t0 = performance.now();
  for (let p = 0; p < PASSES; p++) for (const v of views) t.onClosed(v);
  const ns = (performance.now() - t0) * 1e6 / (PASSES * views.length);
  if (t.rows().get("tcp_link")!.length !== 2) {
    throw new Error("expected a client and a server flow");
  }
  return ns;
}

/**
 * ns per record of what hands a record to the table, without the table: the ring buffer's
 * Uint8Array view and kernel.ts's DataView over it, made per record.
 */
function wrapRound(): number {
  const buf = records.bytes.buffer, size = TcpSnap.size;
  let sink = 0;
  const t0 = performance.now();
  for (let p = 0; p < PASSES; p++) {
    for (let i = 0; i < records.count; i++) {
      const u = new Uint8Array(buf, i * size, size);
      sink += new DataView(u.buffer, u.byteOffset, u.byteLength).byteOffset;
    }
  }
  const ns = (performance.now() - t0) * 1e6 / (PASSES * records.count);
  if (sink < 0) throw new Error("unreachable");
  return ns;
}

/** ns per listed connection of a read of READ_CONNS open ones (the same, read again). */
function readRound(Table: typeof FlowTable): number {
  const t = new Table(BUCKETS, 100);
  t.beginRead(0);
  t.onRead([bigRead]);
  const t0 = performance.now();
  for (let p = 0; p < PASSES; p++) {
    t.beginRead(0);
    t.onRead([bigRead]);
  }
  const ns = (performance.now() - t0) * 1e6 / (PASSES * READ_CONNS);
  if (t.liveConnections !== READ_CONNS) throw new Error(`${t.liveConnections} live connections`);
  return ns;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

for (let i = 0; i < 3; i++) round(Old), round(FlowTable); // warm up both JIT paths
const oldNs: number[] = [], newNs: number[] = [], wrapNs: number[] = [];
const oldRead: number[] = [], newRead: number[] = [];
for (let i = 0; i < rounds; i++) {
  wrapNs.push(wrapRound());
  if (i % 2 === 0) oldRead.push(readRound(Old)), newRead.push(readRound(FlowTable));
  else newRead.push(readRound(FlowTable)), oldRead.push(readRound(Old));
  if (i % 2 === 0) oldNs.push(round(Old)), newNs.push(round(FlowTable));
  else newNs.push(round(FlowTable)), oldNs.push(round(Old));
}
const ratios = oldNs.map((o, i) => o / newNs[i]);
const perConn = records.count / conns;
console.log(
  `close record cost, ${records.count} real records of ${conns} short connections ` +
    `(${perConn.toFixed(1)} per connection), ${liveConns} live connections held, ${rounds} ` +
    `rounds ABBA x ${PASSES} passes:\n` +
    `  base ${base}: ${median(oldNs).toFixed(0)} ns/record (${
      (median(oldNs) * perConn / 1000).toFixed(3)
    } us/connection)\n` +
    `  this tree: ${median(newNs).toFixed(0)} ns/record (${
      (median(newNs) * perConn / 1000).toFixed(3)
    } us/connection)\n` +
    `  ratio base/this per round: median ${median(ratios).toFixed(2)} (min ${
      Math.min(...ratios).toFixed(2)
    }, max ${Math.max(...ratios).toFixed(2)})\n` +
    `  handing a record over (the ring's Uint8Array and kernel.ts's DataView, not in the ` +
    `figures above): ${median(wrapNs).toFixed(0)} ns/record\n` +
    `periodic read of ${READ_CONNS} open connections: base ${
      median(oldRead).toFixed(0)
    } ns/connection, this tree ${median(newRead).toFixed(0)} ns/connection, ratio base/this ` +
    `per round median ${median(oldRead.map((o, i) => o / newRead[i])).toFixed(2)}`,
);
