/**
 * The per-record path of the flow table (flow keys read from the record's bytes, counters folded
 * straight from them) against a reference built from fully decoded records, over close records
 * captured from a real run in a namespace pair.
 */
import { assert, assertEquals } from "../../ffi/assert.ts";
import { type FlowBuckets, flowLabels, FlowTable } from "../../../probes/tcp/flows.ts";
import { FlowKeys } from "../../../probes/tcp/flow_keys.ts";
import { KIND, TcpSnap } from "../../../probes/tcp/layout.ts";
import type { Row } from "../../../runner/probe_api.ts";
import { captureCloseRecords, type CloseRecords, recordView } from "./close_records.ts";

const BUCKETS: FlowBuckets = { connectLatency: [0.001, 0.01, 0.1], synRtt: [0.0001, 0.001] };
const CONNS = 120, PORTS = 3, BYTES = 3000;

/** What a flow's rows must show, summed from decoded records. */
interface Expected {
  labels: Row["labels"];
  bytes_sent: number;
  bytes_acked: number;
  bytes_received: number;
  segs_out: number;
  segs_in: number;
  opens: number;
  retrans: number;
  rst_sent: number;
  rst_received: number;
}

/** The reference: each record decoded in full, flows keyed by their labels (without comm). */
function expected(r: CloseRecords, times = 1): Map<string, Expected> {
  const out = new Map<string, Expected>();
  for (let i = 0; i < r.count; i++) {
    const s = TcpSnap.decode(recordView(r, i));
    const labels = flowLabels(s);
    if (!labels) continue;
    const key = JSON.stringify({ ...labels, comm: undefined });
    let e = out.get(key);
    if (!e) {
      e = {
        labels,
        bytes_sent: 0,
        bytes_acked: 0,
        bytes_received: 0,
        segs_out: 0,
        segs_in: 0,
        opens: 0,
        retrans: 0,
        rst_sent: 0,
        rst_received: 0,
      };
      out.set(key, e);
    }
    if (s.kind === KIND.LATE_RST) {
      e.rst_sent += times;
      continue;
    }
    e.bytes_sent += s.bytes_sent * times;
    e.bytes_acked += s.bytes_acked * times;
    e.bytes_received += s.bytes_received * times;
    e.segs_out += s.segs_out * times;
    e.segs_in += s.segs_in * times;
    e.retrans += s.total_retrans * times;
    e.rst_sent += s.rst_sent * times;
    e.rst_received += s.rst_recv * times;
    if (s.established) e.opens += times;
  }
  return out;
}

/** The table's rows in the reference's shape, keyed the same way. */
function actual(t: FlowTable): Map<string, Expected> {
  const rows = t.rows();
  const abn = new Map(rows.get("tcp_abn")!.map((r) => [JSON.stringify(r.labels), r.values]));
  const out = new Map<string, Expected>();
  for (const r of rows.get("tcp_link")!) {
    const a = abn.get(JSON.stringify(r.labels))!;
    const v = r.values as Record<string, number>;
    out.set(JSON.stringify({ ...r.labels, comm: undefined }), {
      labels: r.labels,
      bytes_sent: v.bytes_sent,
      bytes_acked: v.bytes_acked,
      bytes_received: v.bytes_received,
      segs_out: v.segs_out,
      segs_in: v.segs_in,
      opens: v.opens,
      retrans: a.retrans as number,
      rst_sent: a.rst_sent as number,
      rst_received: a.rst_received as number,
    });
  }
  return out;
}

function assertSameFlows(got: Map<string, Expected>, want: Map<string, Expected>, what: string) {
  assertEquals([...got.keys()].sort(), [...want.keys()].sort(), `${what}: the same flows`);
  for (const [k, w] of want) assertEquals(got.get(k), w, `${what}: flow ${k}`);
}

/**
 * The close records (not late resets), each given a socket address of its own: a short
 * connection's socket memory is soon reused by the next one, so one run's records repeat
 * addresses, and these are to be listed as open all at once.
 */
function ownSockets(r: CloseRecords): CloseRecords {
  const keep: number[] = [];
  for (let i = 0; i < r.count; i++) {
    if (TcpSnap.decode(recordView(r, i)).kind === KIND.CLOSED) keep.push(i);
  }
  const bytes = new Uint8Array(keep.length * TcpSnap.size);
  keep.forEach((i, j) => {
    bytes.set(r.bytes.subarray(i * TcpSnap.size, (i + 1) * TcpSnap.size), j * TcpSnap.size);
    const sk = new DataView(bytes.buffer, j * TcpSnap.size + TcpSnap.offsets.sk, 8);
    sk.setBigUint64(0, 0xffff_8881_0000_0000n + BigInt(j) * 2048n, true);
  });
  return { ...r, bytes, count: keep.length };
}

/** A copy of the records with each one's `kind` byte set (e.g. to list them as live). */
function withKind(r: CloseRecords, kind: number): Uint8Array {
  const b = r.bytes.slice();
  for (let i = 0; i < r.count; i++) b[i * TcpSnap.size + TcpSnap.offsets.kind] = kind;
  return b;
}

const all = await captureCloseRecords(CONNS, { ports: PORTS, bytes: BYTES });

const records = all;

Deno.test("real close records: flows, labels and counters match the decoded records and the run", () => {
  assert(records.count >= 2 * CONNS, `captured ${records.count} records for ${CONNS} connections`);
  const want = expected(records);
  // What the run itself says, independent of any decoding: a client and a server flow per port.
  assertEquals(want.size, 2 * PORTS, "one client and one server flow per server port");
  for (const e of want.values()) {
    const client = e.labels.role === "client";
    assertEquals(e.labels.tgid, client ? records.clientPid : records.serverPid);
    assertEquals([e.labels.client_ip, e.labels.server_ip], [records.clientIp, records.serverIp]);
    const port = e.labels.server_port as number;
    assert(port >= records.port && port < records.port + PORTS, `server port ${port}`);
    assertEquals(e.labels.family, 2);
    assertEquals(e.opens, CONNS / PORTS, `opens of ${JSON.stringify(e.labels)}`);
    if (client) assertEquals(e.bytes_sent, (CONNS / PORTS) * BYTES);
    else {
      // A FIN counts as a byte received once the socket read it (most close after it did).
      const n = CONNS / PORTS;
      assert(e.bytes_received >= n * BYTES && e.bytes_received <= n * (BYTES + 1));
    }
  }
  // A full hash and one of 2 bits (every lookup then meets other flows' keys in its probe).
  for (const keys of [new FlowKeys(), new FlowKeys(0x3)]) {
    const t = new FlowTable(BUCKETS, 100, keys);
    for (let i = 0; i < records.count; i++) t.onClosed(recordView(records, i));
    assertSameFlows(actual(t), want, "one replay");
    const rows = t.rows();
    for (const r of rows.get("tcp_link")!) {
      assertEquals(r.labels.comm, "python3");
      assertEquals(r.values.connections, 0);
    }
    // Histograms count each opened connection once.
    for (const r of rows.get("tcp_srtt")!) {
      const e = want.get(JSON.stringify({ ...r.labels, comm: undefined }))!;
      assertEquals((r.values.syn_rtt as { count: number }).count, e.opens);
    }
    // Counters only grow: the same records again add up to twice as much.
    for (let i = 0; i < records.count; i++) t.onClosed(recordView(records, i));
    assertSameFlows(actual(t), expected(records, 2), "two replays");
    assertEquals(t.size, 2 * PORTS);
  }
});

Deno.test("pruned flows are forgotten and come back from zero; other flows keep their numbers", () => {
  const t = new FlowTable(BUCKETS, 100, new FlowKeys(0x1));
  for (let i = 0; i < records.count; i++) t.onClosed(recordView(records, i));
  t.beginRead(0);
  t.onRead([]);
  t.prune(1); // every flow is idle for one read: all go
  assertEquals(t.size, 0);
  assertEquals(t.rows().get("tcp_link"), []);
  // Half the records (some flows only), then all: the flows seen first are re-added first, the
  // rest after them, and every lookup must still find its own flow.
  const half = Math.floor(records.count / 2);
  for (let i = 0; i < half; i++) t.onClosed(recordView(records, i));
  for (let i = 0; i < records.count; i++) t.onClosed(recordView(records, i));
  const twiceHalf = expected({ ...records, count: half });
  const want = expected(records);
  for (const [k, e] of twiceHalf) {
    const w = want.get(k)!;
    for (const f of Object.keys(e) as (keyof Expected)[]) {
      if (f !== "labels") (w[f] as number) += e[f] as number;
    }
  }
  assertSameFlows(actual(t), want, "after a prune");
});

Deno.test("live then closed: the close record replaces the live values; a socket closed during a read is not listed", () => {
  const records = ownSockets(all);
  assert(records.count >= 2 * CONNS, `${records.count} close records`);
  const want = expected(records);
  const live = withKind(records, KIND.LIVE);
  const t = new FlowTable(BUCKETS, 100);
  t.beginRead(0);
  t.onRead([live]);
  const open = t.rows().get("tcp_link")!;
  assertEquals(
    open.reduce((n, r) => n + (r.values.connections as number), 0),
    records.count,
    "every socket listed is a live connection",
  );
  // While they are live, the rows carry the same counters and opens (from the slots).
  assertSameFlows(actual(t), want, "live");
  for (let i = 0; i < records.count; i++) t.onClosed(recordView(records, i));
  assertSameFlows(actual(t), want, "closed after being live");
  assertEquals(t.liveConnections, 0);
  // Closed while a read ran: the read lists it, but it is folded already.
  const u = new FlowTable(BUCKETS, 100);
  u.beginRead(0);
  for (let i = 0; i < records.count; i++) u.onClosed(recordView(records, i));
  u.onRead([live]);
  assertEquals(u.liveConnections, 0);
  assertSameFlows(actual(u), want, "closed during a read");
});

Deno.test("a late reset adds one reset sent to its flow and nothing else", () => {
  const t = new FlowTable(BUCKETS, 100);
  for (let i = 0; i < records.count; i++) t.onClosed(recordView(records, i));
  const before = actual(t);
  const late = withKind({ ...records, count: 1 }, KIND.LATE_RST);
  t.onClosed(new DataView(late.buffer, 0, TcpSnap.size));
  const key = JSON.stringify({
    ...flowLabels(TcpSnap.decode(recordView(records, 0)))!,
    comm: undefined,
  });
  before.get(key)!.rst_sent++;
  assertSameFlows(actual(t), before, "after a late reset");
});

Deno.test("records at any alignment in their buffer (the ring's, a read's) give the same flows", () => {
  const want = expected(records);
  for (const shift of [1, 2, 4, 8]) {
    const buf = new Uint8Array(records.bytes.length + shift);
    buf.set(records.bytes, shift);
    const t = new FlowTable(BUCKETS, 100);
    for (let i = 0; i < records.count; i++) {
      t.onClosed(new DataView(buf.buffer, shift + i * TcpSnap.size, TcpSnap.size));
    }
    assertSameFlows(actual(t), want, `records shifted by ${shift} bytes`);
  }
  // As the ring buffer hands them (a Uint8Array each), without a DataView around.
  const fromBytes = new FlowTable(BUCKETS, 100);
  for (let i = 0; i < records.count; i++) {
    fromBytes.onClosed(new Uint8Array(records.bytes.buffer, i * TcpSnap.size, TcpSnap.size));
  }
  assertSameFlows(actual(fromBytes), want, "records as Uint8Arrays");
  // A read's output at an offset in a larger buffer: every record listed as live.
  const one = ownSockets(all), live = withKind(one, KIND.LIVE);
  const buf = new Uint8Array(live.length + 3);
  buf.set(live, 3);
  const t = new FlowTable(BUCKETS, 100);
  t.beginRead(0);
  t.onRead([buf.subarray(3)]);
  assertEquals(t.liveConnections, one.count);
  assertSameFlows(actual(t), expected(one), "a read shifted by 3 bytes");
});

Deno.test("thousands of flows: the key index grows and keeps every flow apart, also when hashes collide", () => {
  // The captured records again under 500 process ids each: 6 flows become 3,000.
  const copies = 500, size = TcpSnap.size;
  const bytes = new Uint8Array(records.count * copies * size);
  for (let c = 0; c < copies; c++) {
    bytes.set(records.bytes.subarray(0, records.count * size), c * records.count * size);
    for (let i = 0; i < records.count; i++) {
      const at = (c * records.count + i) * size + TcpSnap.offsets.tgid;
      new DataView(bytes.buffer, at, 4).setUint32(0, 100_000 + c, true);
    }
  }
  const many: CloseRecords = { ...records, bytes, count: records.count * copies };
  const want = expected(many);
  assertEquals(want.size, 2 * PORTS * copies);
  for (const keys of [new FlowKeys(), new FlowKeys(0xff)]) {
    const t = new FlowTable(BUCKETS, 100, keys);
    for (let i = 0; i < many.count; i++) t.onClosed(recordView(many, i));
    assertEquals(t.size, want.size);
    assertSameFlows(actual(t), want, "3,000 flows");
    // Drop every flow, then bring half of them back: numbers are reused, lookups still agree.
    t.beginRead(0);
    t.onRead([]);
    t.prune(1);
    assertEquals(t.size, 0);
    const half: CloseRecords = { ...many, count: many.count / 2 };
    for (let i = 0; i < half.count; i++) t.onClosed(recordView(half, i));
    assertSameFlows(actual(t), expected(half), "half of them again");
  }
});
