/**
 * Per-flow accumulation: connections seen by iter/tcp (live) and in close records are summed per
 * flow (tgid, role, client ip, server ip, server port, family) into rows of the tcp meta tables.
 * Counters stay monotonic: a connection's last values are folded into its flow when it closes
 * or disappears (evicted, or its close record was lost).
 *
 * Live connections are slots in a few typed arrays (conns.ts), filled straight from the iterator's
 * bytes: with 10,000 sockets a read allocates next to nothing and they hold no object each.
 *
 * A close record (two per short connection, tens of thousands a second) is matched to its flow by
 * its key words (flow_keys.ts) and its counters are added to the flow's straight from the ring
 * buffer's bytes (record_bytes.ts): no string, object or closure per record.
 *
 * @module
 */

import type { Row } from "../../runner/probe_api.ts";
import { formatAddr } from "./addr.ts";
import { type ConnList, ConnSlots, NONE } from "./conns.ts";
import { FlowKeys, NO_FLOW } from "./flow_keys.ts";
import { Histogram } from "./histogram.ts";
import { FlowClosed, FlowKey, HIST_SLOTS, KIND, type Snap, TcpSnap } from "./layout.ts";
import { RecordBytes } from "./record_bytes.ts";

const COUNTERS = [
  "bytes_sent",
  "bytes_acked",
  "bytes_received",
  "segs_out",
  "segs_in",
  "total_retrans",
  "rto_count",
  "retrans_failed",
  "drops",
  "rst_sent",
  "rst_recv",
  "zero_wnd_rx",
  "zero_wnd_tx",
] as const;
const GAUGES = [
  "srtt_us",
  "rttvar_us",
  "rcv_rtt_us",
  "snd_cwnd",
  "snd_ssthresh",
  "snd_wnd",
  "rcv_wnd",
  "notsent_bytes",
  "notacked_bytes",
  "reordering",
  "rto_jiffies",
  "ato_jiffies",
  "mss",
  "rcvbuf",
  "sndbuf",
  "rmem_alloc",
  "wmem_queued",
  "lost_out",
  "sacked_out",
  "backlog",
  "syn_srtt_us",
  "established",
] as const;
/**
 * The values read per socket: counters, gauges, then connect_ns, which only counting an open
 * needs (it is not stored per connection). The first WIDE counters are 64-bit in the kernel,
 * all other stored values 32-bit (layout.ts).
 */
const FIELDS = [...COUNTERS, ...GAUGES, "connect_ns"] as const;
const WIDE = 3;
type Field = (typeof FIELDS)[number];
/** Index of each field in a connection's value array. */
const F = Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<Field, number>;
const NC = COUNTERS.length;
/**
 * Offset in `struct tcp_snap` of each field: values are read straight from the record's bytes
 * at these (no closure per field, no array of values per record).
 */
const AT = Int32Array.from(FIELDS, (f) => TcpSnap.offsets[f]);
/** Byte width of each field: all are u32 but these (layout.ts; the tests check the values). */
const NOT_U32: Partial<Record<Field, number>> = {
  bytes_sent: 8,
  bytes_acked: 8,
  bytes_received: 8,
  established: 1,
  connect_ns: 8,
};
const WIDTH = Uint8Array.from(FIELDS, (f) => NOT_U32[f] ?? 4);
const O = TcpSnap.offsets;
const SK = O.sk, INO = O.ino, KIND_AT = O.kind, ESTABLISHED = O.established;
const CONNECT_NS = O.connect_ns, SYN_SRTT = O.syn_srtt_us, TGID = O.tgid, ROLE = O.role;

/** Row labels of a flow (the tcp tables' keys and labels). */
export type FlowLabels = Row["labels"];

/** Histogram bounds, from the meta tables. */
export interface FlowBuckets {
  connectLatency: readonly number[];
  synRtt: readonly number[];
}

/** A flow; `head` and `count` are its list of live connections in {@link ConnSlots}. */
interface Flow extends ConnList {
  /** Its number in {@link FlowKeys}. */
  id: number;
  labels: FlowLabels;
  closed: Float64Array; // counters of connections no longer live
  opens: number;
  connect: Histogram;
  syn: Histogram;
  lastSeen: number;
}

const NF = FIELDS.length;
/** Values stored per live connection (all but connect_ns), and of them 32-bit ones. */
const STORED = NF - 1, NARROW = STORED - WIDE;

/**
 * A socket's address as a number: kernel addresses share their top 16 bits, so the low 48 are
 * unique and a double holds them exactly. A BigInt per record per read was most of what a read
 * allocated.
 */
function skAt(b: RecordBytes, off: number): number {
  return b.u32[(off + SK) >> 2] + b.u16[(off + SK + 4) >> 1] * 4294967296;
}

/** Counters of a flow while its rows are built (one array reused). */
const rowCounters = new Float64Array(NC);

const FK = FlowKey.offsets, FC = FlowClosed.offsets;
/** Bytes per CPU of a per-CPU `struct flow_closed` lookup. */
const FOLD_STRIDE = Math.ceil(FlowClosed.size / 8) * 8;
/** `struct flow_closed` counters, in {@link COUNTERS} order: the first WIDE are 64-bit. */
const FOLD_AT = Int32Array.from(COUNTERS, (c) => FC[c]);

/** Labels of the flow a socket belongs to, or undefined when its role is unknown. */
export function flowLabels(s: Snap): FlowLabels | undefined {
  if (s.role !== 1 && s.role !== 2) return undefined;
  const local = formatAddr(s.family, s.saddr), remote = formatAddr(s.family, s.daddr);
  const client = s.role === 1;
  return {
    tgid: s.tgid,
    comm: s.comm,
    role: client ? "client" : "server",
    client_ip: client ? local : remote,
    server_ip: client ? remote : local,
    server_port: client ? s.dport : s.sport,
    family: s.family,
  };
}

/** All flows of one probe instance. */
export class FlowTable {
  /** Flows by their number in {@link #keys} (undefined: a free number). */
  readonly #flows: (Flow | undefined)[] = [];
  readonly #keys: FlowKeys;
  /** Views over the buffer of the record being handled. */
  readonly #bytes = new RecordBytes();
  readonly #live = new ConnSlots<Flow>(WIDE, NARROW);
  readonly #buckets: FlowBuckets;
  readonly #hz: number;
  #period = 0;
  /** The period of the read under way: the next one, or the same for a read again in full. */
  #readPeriod = 0;
  #idleInLastRead = 0;
  /** The kernel's number of the read under way (`struct tcp_cfg.walk`). */
  #walk = 0;
  /** Close records since {@link beginRead} of sockets that read counted as unchanged. */
  #closedCountedIdle = 0;
  /**
   * From {@link beginRead} until {@link onRead} has run: close records then may concern sockets
   * the read lists. Outside a read nothing needs remembering per record.
   */
  #reading = false;
  /** Sockets whose close record arrived since the current read began. */
  #closedDuringRead = new Set<number>();

  /**
   * @param buckets histogram bounds
   * @param hz the kernel's jiffies per second
   * @param keys the flow key index (tests pass one with a narrowed hash)
   */
  constructor(buckets: FlowBuckets, hz: number, keys = new FlowKeys()) {
    this.#buckets = buckets;
    this.#hz = hz;
    this.#keys = keys;
  }

  /** Flows held now. */
  get size(): number {
    return this.#keys.size;
  }

  /** Sockets the last read listed as unchanged (idle records). */
  get idleInLastRead(): number {
    return this.#idleInLastRead;
  }

  /** Connections seen live in the last read. */
  get liveConnections(): number {
    return this.#live.size;
  }

  /**
   * The flow of the socket record at `off`, created (its labels decoded) the first time; or
   * undefined when the socket's role is unknown.
   */
  #flowAt(b: RecordBytes, off: number): Flow | undefined {
    const keys = this.#keys;
    if (!keys.read(b, off)) return undefined;
    const n = keys.find();
    if (n !== NO_FLOW) return this.#flows[n];
    const labels = flowLabels(TcpSnap.decode(new DataView(b.u8.buffer, off, TcpSnap.size)))!;
    const f: Flow = {
      id: keys.add(),
      labels,
      closed: new Float64Array(NC),
      opens: 0,
      head: NONE,
      count: 0,
      connect: new Histogram(this.#buckets.connectLatency),
      syn: new Histogram(this.#buckets.synRtt),
      lastSeen: this.#period,
    };
    this.#flows[f.id] = f;
    return f;
  }

  /** Count an opened connection with the values of the record at `off`. */
  #count(f: Flow, b: RecordBytes, off: number): void {
    f.opens++;
    const connectNs = b.u64(off + CONNECT_NS);
    if (connectNs > 0) f.connect.observe(connectNs / 1e9);
    f.syn.observe(b.u32[(off + SYN_SRTT) >> 2] / 1e6);
  }

  /** Add the counters of the record at `off` to the flow's closed ones. */
  #fold(f: Flow, b: RecordBytes, off: number): void {
    const closed = f.closed, u32 = b.u32;
    for (let i = 0; i < WIDE; i++) closed[i] += b.u64(off + AT[i]);
    for (let i = WIDE; i < NC; i++) closed[i] += u32[(off + AT[i]) >> 2];
  }

  /** Add (or with sign -1 take back) the counters of live slot `s` to the flow's closed ones. */
  #foldSlot(f: Flow, s: number, sign = 1): void {
    const live = this.#live, wide = live.wide, narrow = live.narrow, n = s * NARROW;
    for (let i = 0; i < WIDE; i++) f.closed[i] += sign * wide[s * WIDE + i];
    for (let i = WIDE; i < NC; i++) f.closed[i] += sign * narrow[n + i - WIDE];
  }

  /**
   * A close record from the ring buffer (a view valid only during the call).
   *
   * @returns the record's kind (`KIND`)
   */
  onClosed(record: ArrayBufferView): number {
    return this.onClosedAt(record.buffer, record.byteOffset);
  }

  /**
   * The close record at `byteOffset` of `buffer` (the ring buffer's mapping, read in place: no
   * view is made per record).
   *
   * @returns the record's kind (`KIND`)
   */
  onClosedAt(buffer: ArrayBufferLike, byteOffset: number): number {
    const b = this.#bytes, off = b.at(buffer, byteOffset);
    const kind = b.u8[off + KIND_AT];
    const reading = this.#reading;
    if (reading && this.#walk && b.u64(off + INO) === this.#walk) this.#closedCountedIdle++;
    const f = this.#flowAt(b, off);
    if (!f) return kind;
    if (kind === KIND.LATE_RST) {
      f.closed[F.rst_sent]++;
      return kind;
    }
    const sk = skAt(b, off);
    if (reading) this.#closedDuringRead.add(sk);
    const established = b.u8[off + ESTABLISHED];
    const live = this.#live, prev = live.size ? live.find(sk) : NONE;
    if (prev !== NONE) {
      const old = live.flow[prev]!;
      if (!live.counted[prev] && established) this.#count(f, b, off);
      if (old !== f) {
        // Re-attributed since the last read: the old flow keeps what it had seen.
        this.#foldSlot(old, prev);
        this.#foldSlot(f, prev, -1);
      }
      live.remove(prev);
    } else if (established) {
      this.#count(f, b, off);
    }
    this.#fold(f, b, off);
    // Not back: a read under way may have listed the flow in its (next) period already.
    if (f.lastSeen < this.#period) f.lastSeen = this.#period;
    return kind;
  }

  /**
   * One flow's closed connections that no read listed, and its resets sent just after a close,
   * summed in the kernel (`struct flow_key`, and `struct flow_closed` once per CPU: tcp.bpf.c
   * fold_closed, on_send_reset): added as their close and late-reset records would have been.
   *
   * @returns how many connections they were
   */
  onFolded(key: Uint8Array, perCpu: Uint8Array): number {
    const kv = new DataView(key.buffer, key.byteOffset, key.byteLength);
    const vv = new DataView(perCpu.buffer, perCpu.byteOffset, perCpu.byteLength);
    const sums = new Float64Array(NC);
    const connect = new Float64Array(HIST_SLOTS), syn = new Float64Array(HIST_SLOTS);
    let closes = 0, opens = 0, connects = 0, connectNs = 0, synUs = 0, comm = -1;
    for (let at = 0; at + FlowClosed.size <= perCpu.byteLength; at += FOLD_STRIDE) {
      // The CPU that made the entry (at a close or a late reset) wrote the comm; the others
      // add into values that started zeroed.
      if (comm < 0 && perCpu[at + FC.comm]) comm = at + FC.comm;
      closes += vv.getUint32(at + FC.closes, true);
      opens += vv.getUint32(at + FC.opens, true);
      connects += vv.getUint32(at + FC.connects, true);
      connectNs += Number(vv.getBigUint64(at + FC.connect_ns_sum, true));
      synUs += Number(vv.getBigUint64(at + FC.syn_us_sum, true));
      for (let i = 0; i < NC; i++) {
        sums[i] += i < WIDE
          ? Number(vv.getBigUint64(at + FOLD_AT[i], true))
          : vv.getUint32(at + FOLD_AT[i], true);
      }
      for (let i = 0; i < HIST_SLOTS; i++) {
        connect[i] += vv.getUint32(at + FC.connect_hist + 4 * i, true);
        syn[i] += vv.getUint32(at + FC.syn_hist + 4 * i, true);
      }
    }
    if (comm < 0) return 0;
    // The flow is found (or made) from a record with the key's identity, as a close record
    // would name it.
    const r = new Uint8Array(TcpSnap.size), rv = new DataView(r.buffer);
    const role = kv.getUint8(FK.role), port = kv.getUint16(FK.server_port, true);
    rv.setUint32(O.tgid, kv.getUint32(FK.tgid, true), true);
    rv.setUint8(O.role, role);
    rv.setUint8(O.family, kv.getUint8(FK.family));
    rv.setUint16(role === 1 ? O.dport : O.sport, port, true);
    r.set(key.subarray(FK.laddr, FK.laddr + 16), O.saddr);
    r.set(key.subarray(FK.raddr, FK.raddr + 16), O.daddr);
    r.set(perCpu.subarray(comm, comm + 16), O.comm);
    const b = this.#bytes, off = b.at(r.buffer, 0);
    const f = this.#flowAt(b, off);
    if (!f) return closes;
    f.opens += opens;
    f.syn.merge(syn, synUs / 1e6, opens);
    f.connect.merge(connect, connectNs / 1e9, connects);
    for (let i = 0; i < NC; i++) f.closed[i] += sums[i];
    if (f.lastSeen < this.#period) f.lastSeen = this.#period;
    return closes;
  }

  /**
   * A read starts: close records handled from now on may concern sockets it will list. `walk`:
   * its number in the kernel (`struct tcp_cfg.walk`), 0 for a read that lists every socket;
   * `retry`: the period's read again in full, after {@link onRead} returned false.
   */
  beginRead(walk = 0, retry = false): void {
    this.#closedDuringRead.clear();
    this.#walk = walk;
    this.#closedCountedIdle = 0;
    this.#reading = true;
    this.#readPeriod = retry ? this.#period : this.#period + 1;
  }

  /**
   * Records of the read under way (`struct tcp_snap` back to back), as the read hands them
   * over. Consume the ring buffer before each call: a socket that closed since it was listed is
   * then already folded, and its record is passed over (as is a new socket that took its
   * address). One closing after its record was handled is folded from its close record later.
   */
  onRecords(bytes: Uint8Array): void {
    if (!this.#reading) this.beginRead();
    const b = this.#bytes, end = bytes.byteOffset + bytes.byteLength, period = this.#readPeriod;
    for (let at = bytes.byteOffset; at + TcpSnap.size <= end; at += TcpSnap.size) {
      // Per record: the views are remade only when the read's buffer changes (or for a
      // record that is not aligned in it).
      const off = b.at(bytes.buffer, at);
      if (b.u8[off + KIND_AT] !== KIND.LIVE) continue;
      const sk = skAt(b, off);
      if (this.#closedDuringRead.size && this.#closedDuringRead.has(sk)) continue;
      this.#onLive(b, off, sk, period);
    }
  }

  /**
   * The end of a read (all namespaces), with its last `buffers` of records if any.
   * Sequence: consume the ring buffer, {@link beginRead}, read (consuming the ring before each
   * {@link onRecords}), consume again, then this.
   *
   * `idle`: how many entries the kernel counted as unchanged instead of listing them (a read
   * with read_changed_only). Those keep their last values, provided the count adds up: the
   * open connections not listed plus those closed since that the read had counted. If it does
   * not (an entry left the map without a close record: LRU eviction, a lost record), nothing is
   * folded and false is returned: read again in full (`beginRead(0, true)`), then call this.
   */
  onRead(buffers: readonly Uint8Array[] = [], idle?: number): boolean {
    try {
      for (const bytes of buffers) this.onRecords(bytes);
      if (!this.#reading) this.beginRead();
      return this.#endRead(idle);
    } finally {
      this.#reading = false;
      this.#closedDuringRead.clear();
    }
  }

  #endRead(idle: number | undefined): boolean {
    const period = this.#period = this.#readPeriod;
    // Slots in use are walked by index, not with live.slots(): a generator's step allocates a
    // result object, two walks of 10,000 connections per read were 1 MB of garbage a report.
    const live = this.#live, seen = live.seen, flow = live.flow;
    if (idle !== undefined) {
      let unlisted = 0;
      for (let s = 0; s < flow.length; s++) {
        if (flow[s] !== undefined && seen[s] !== period) unlisted++;
      }
      if (unlisted + this.#closedCountedIdle !== idle) return false;
      for (let s = 0; s < flow.length; s++) {
        const f = flow[s];
        if (f === undefined || seen[s] === period) continue;
        seen[s] = period; // unchanged: its last values stand
        f.lastSeen = period;
      }
      this.#idleInLastRead = unlisted;
      return true;
    }
    this.#idleInLastRead = 0;
    for (let s = 0; s < flow.length; s++) {
      const f = flow[s];
      if (f === undefined || seen[s] === period) continue;
      this.#foldSlot(f, s);
      live.remove(s); // frees slot s only: the walk goes on
    }
    return true;
  }

  #onLive(b: RecordBytes, off: number, sk: number, period: number): void {
    const live = this.#live;
    let s = live.find(sk);
    const tgid = b.u32[(off + TGID) >> 2], role = b.u8[off + ROLE];
    if (s === NONE || live.tgid[s] !== tgid || live.role[s] !== role) {
      const f = this.#flowAt(b, off);
      if (!f) return;
      if (s !== NONE) {
        // Re-attributed (lazy owner): the old flow keeps what it had seen.
        const old = live.flow[s]!;
        this.#foldSlot(old, s);
        this.#foldSlot(f, s, -1);
        live.move(s, f);
        live.tgid[s] = tgid;
        live.role[s] = role;
      } else {
        s = live.add(sk, f, tgid, role);
      }
    }
    live.storeFrom(s, b, off, AT, WIDTH);
    const f = live.flow[s]!;
    if (!live.counted[s] && b.u8[off + ESTABLISHED]) {
      live.counted[s] = 1;
      this.#count(f, b, off);
    }
    live.seen[s] = period;
    f.lastSeen = period;
  }

  /**
   * Forget flows with no open connection that saw nothing for `idlePeriods` reads (their
   * counters then restart from zero if the flow comes back).
   */
  prune(idlePeriods = 10): void {
    this.#keys.retain((n) => {
      const f = this.#flows[n]!;
      if (f.count || this.#period - f.lastSeen < idlePeriods) return true;
      this.#flows[n] = undefined;
      return false;
    });
  }

  /** Rows for each tcp table, by table name. */
  rows(): Map<string, Row[]> {
    const out = new Map<string, Row[]>(
      [
        "tcp_link",
        "tcp_rtt",
        "tcp_windows",
        "tcp_rate",
        "tcp_srtt",
        "tcp_sockbuf",
        "tcp_abn",
        "tcp_delay",
      ]
        .map((t) => [t, []]),
    );
    const push = (t: string, r: Row) => out.get(t)!.push(r);
    const us = (x: number) => x / 1e6;
    const jiffies = (x: number) => x / this.#hz;
    const gauges = GAUGES.length;
    const mx = new Float64Array(gauges),
      mn = new Float64Array(gauges),
      sm = new Float64Array(gauges);
    const max = (i: number) => mx[i - NC], min = (i: number) => mn[i - NC];
    const sum = (i: number) => sm[i - NC];
    for (const f of this.#flows) {
      if (!f) continue;
      // One pass over the flow's open connections: counters summed, gauges' max/min/sum.
      const c = rowCounters;
      c.set(f.closed);
      mx.fill(0);
      mn.fill(f.count ? Infinity : 0);
      sm.fill(0);
      const live = this.#live, wide = live.wide, narrow = live.narrow, next = live.next;
      for (let s = f.head; s !== NONE; s = next[s]) {
        const n = s * NARROW - WIDE; // narrow[n + i] is value i (i >= WIDE)
        for (let i = 0; i < WIDE; i++) c[i] += wide[s * WIDE + i];
        for (let i = WIDE; i < NC; i++) c[i] += narrow[n + i];
        for (let g = 0; g < gauges; g++) {
          const x = narrow[n + NC + g];
          if (x > mx[g]) mx[g] = x;
          if (x < mn[g]) mn[g] = x;
          sm[g] += x;
        }
      }
      const nLive = f.count;
      const labels = f.labels;
      push("tcp_link", {
        labels,
        values: {
          bytes_sent: c[F.bytes_sent],
          bytes_acked: c[F.bytes_acked],
          bytes_received: c[F.bytes_received],
          segs_out: c[F.segs_out],
          segs_in: c[F.segs_in],
          opens: f.opens,
          connections: nLive,
        },
      });
      push("tcp_abn", {
        labels,
        values: {
          retrans: c[F.total_retrans],
          timeouts: c[F.rto_count],
          retrans_failed: c[F.retrans_failed],
          retrans_ratio: c[F.segs_out] ? c[F.total_retrans] / c[F.segs_out] : 0,
          lost: sum(F.lost_out),
          sacked: sum(F.sacked_out),
          backlog: sum(F.backlog),
          drops: c[F.drops],
          rst_sent: c[F.rst_sent],
          rst_received: c[F.rst_recv],
        },
      });
      if (f.syn.count) push("tcp_srtt", { labels, values: { syn_rtt: f.syn.value() } });
      if (f.connect.count) {
        push("tcp_delay", { labels, values: { connect_latency: f.connect.value() } });
      }
      push("tcp_windows", {
        labels,
        values: {
          zero_window_rx: c[F.zero_wnd_rx],
          zero_window_tx: c[F.zero_wnd_tx],
          ...(nLive
            ? {
              cwnd: min(F.snd_cwnd),
              ssthresh: min(F.snd_ssthresh),
              snd_wnd: min(F.snd_wnd),
              rcv_wnd: min(F.rcv_wnd),
              notsent: max(F.notsent_bytes),
              notacked: max(F.notacked_bytes),
              reordering: max(F.reordering),
            }
            : {}),
        },
      });
      if (!nLive) continue; // gauges only describe open connections
      push("tcp_rtt", {
        labels,
        values: {
          srtt: us(max(F.srtt_us)),
          rttvar: us(max(F.rttvar_us)),
          rcv_rtt: us(max(F.rcv_rtt_us)),
        },
      });
      push("tcp_rate", {
        labels,
        values: {
          rto: jiffies(max(F.rto_jiffies)),
          ato: jiffies(max(F.ato_jiffies)),
          mss: max(F.mss),
        },
      });
      push("tcp_sockbuf", {
        labels,
        values: {
          rcvbuf: max(F.rcvbuf),
          sndbuf: max(F.sndbuf),
          rmem_alloc: max(F.rmem_alloc),
          wmem_queued: max(F.wmem_queued),
        },
      });
    }
    return out;
  }
}
