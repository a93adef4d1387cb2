/**
 * Per-flow accumulation: connections seen by iter/tcp (live) and in close records are summed per
 * flow (tgid, role, client ip, server ip, server port, family) into rows of the tcp meta tables.
 * Counters stay monotonic: a connection's last values are folded into its flow when it closes
 * or disappears (evicted, or its close record was lost).
 *
 * @module
 */

import type { Row } from "../../runner/probe_api.ts";
import { formatAddr } from "./addr.ts";
import { Histogram } from "./histogram.ts";
import { KIND, type Snap } from "./layout.ts";

const COUNTERS = [
  "bytes_sent",
  "bytes_acked",
  "bytes_received",
  "segs_out",
  "segs_in",
  "total_retrans",
  "retrans_skbs",
  "retrans_failed",
  "drops",
  "rst_sent",
  "rst_recv",
  "zero_wnd_rx",
  "zero_wnd_tx",
] as const;
type Counter = (typeof COUNTERS)[number];
type Counters = Record<Counter, number>;

/** Row labels of a flow (the tcp tables' keys and labels). */
export type FlowLabels = Row["labels"];

/** Histogram bounds, from the meta tables. */
export interface FlowBuckets {
  connectLatency: readonly number[];
  synRtt: readonly number[];
}

interface Flow {
  labels: FlowLabels;
  closed: Counters;
  opens: number;
  live: Set<bigint>;
  connect: Histogram;
  syn: Histogram;
  lastSeen: number;
}

interface Live {
  key: string;
  snap: Snap;
  counted: boolean;
}

function zero(): Counters {
  return Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Counters;
}

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

function keyOf(l: FlowLabels): string {
  return `${l.tgid}|${l.role}|${l.client_ip}|${l.server_ip}|${l.server_port}|${l.family}`;
}

/** All flows of one probe instance. */
export class FlowTable {
  readonly #flows = new Map<string, Flow>();
  readonly #live = new Map<bigint, Live>();
  readonly #buckets: FlowBuckets;
  readonly #hz: number;
  #period = 0;
  /** Sockets whose close record arrived since the current read began. */
  #closedDuringRead = new Set<bigint>();

  constructor(buckets: FlowBuckets, hz: number) {
    this.#buckets = buckets;
    this.#hz = hz;
  }

  /** Flows held now. */
  get size(): number {
    return this.#flows.size;
  }

  /** Connections seen live in the last read. */
  get liveConnections(): number {
    return this.#live.size;
  }

  #flow(labels: FlowLabels): [string, Flow] {
    const key = keyOf(labels);
    let f = this.#flows.get(key);
    if (!f) {
      f = {
        labels,
        closed: zero(),
        opens: 0,
        live: new Set(),
        connect: new Histogram(this.#buckets.connectLatency),
        syn: new Histogram(this.#buckets.synRtt),
        lastSeen: this.#period,
      };
      this.#flows.set(key, f);
    }
    return [key, f];
  }

  #count(f: Flow, s: Snap): void {
    f.opens++;
    if (s.connect_ns > 0) f.connect.observe(s.connect_ns / 1e9);
    f.syn.observe(s.syn_srtt_us / 1e6);
  }

  #fold(f: Flow, s: Snap): void {
    for (const c of COUNTERS) f.closed[c] += s[c];
  }

  /** A close record from the ring buffer. */
  onClosed(s: Snap): void {
    const labels = flowLabels(s);
    if (!labels) return;
    if (s.kind === KIND.LATE_RST) {
      this.#flow(labels)[1].closed.rst_sent++;
      return;
    }
    this.#closedDuringRead.add(s.sk);
    const prev = this.#live.get(s.sk);
    const [key, f] = this.#flow(labels);
    if (prev) {
      this.#live.delete(s.sk);
      this.#flows.get(prev.key)?.live.delete(s.sk);
      if (!prev.counted && s.established) this.#count(f, s);
      if (prev.key !== key) this.#fold(f, prev.snap); // owner changed since the last read
    } else if (s.established) {
      this.#count(f, s);
    }
    this.#fold(f, s);
    f.lastSeen = this.#period;
  }

  /** A read starts: close records handled from now on may concern sockets it will list. */
  beginRead(): void {
    this.#closedDuringRead.clear();
  }

  /**
   * The live connections of one complete read (all namespaces). Sequence: consume the ring
   * buffer, {@link beginRead}, read, consume again, then this: a socket that closed while the
   * read ran is listed by it but already folded, and must not come back to life.
   */
  onRead(snaps: readonly Snap[]): void {
    this.#period++;
    const seen = new Set<bigint>();
    for (const s of snaps) {
      if (s.kind !== KIND.LIVE || this.#closedDuringRead.has(s.sk)) continue;
      const labels = flowLabels(s);
      if (!labels) continue;
      seen.add(s.sk);
      const [key, f] = this.#flow(labels);
      const prev = this.#live.get(s.sk);
      if (prev && prev.key !== key) {
        // Re-attributed (lazy owner): the old flow keeps what it had seen.
        const old = this.#flows.get(prev.key);
        if (old) {
          old.live.delete(s.sk);
          this.#fold(old, prev.snap);
          for (const c of COUNTERS) f.closed[c] -= prev.snap[c];
        }
      }
      const counted = (prev?.counted ?? false) || s.established === 1;
      if (counted && !prev?.counted) this.#count(f, s);
      this.#live.set(s.sk, { key, snap: s, counted });
      f.live.add(s.sk);
      f.lastSeen = this.#period;
    }
    for (const [sk, l] of this.#live) {
      if (seen.has(sk)) continue;
      const f = this.#flows.get(l.key);
      if (f) {
        f.live.delete(sk);
        this.#fold(f, l.snap);
      }
      this.#live.delete(sk);
    }
  }

  /**
   * Forget flows with no open connection that saw nothing for `idlePeriods` reads (their
   * counters then restart from zero if the flow comes back).
   */
  prune(idlePeriods = 10): void {
    for (const [k, f] of this.#flows) {
      if (!f.live.size && this.#period - f.lastSeen >= idlePeriods) this.#flows.delete(k);
    }
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
    const us = (v: number) => v / 1e6;
    const jiffies = (v: number) => v / this.#hz;
    for (const f of this.#flows.values()) {
      const c = { ...f.closed };
      const live = [...f.live].map((sk) => this.#live.get(sk)!.snap);
      for (const s of live) for (const k of COUNTERS) c[k] += s[k];
      const labels = f.labels;
      const max = (g: (s: Snap) => number) => live.reduce((m, s) => Math.max(m, g(s)), 0);
      const min = (g: (s: Snap) => number) =>
        live.length ? live.reduce((m, s) => Math.min(m, g(s)), Infinity) : 0;
      const sum = (g: (s: Snap) => number) => live.reduce((m, s) => m + g(s), 0);
      out.get("tcp_link")!.push({
        labels,
        values: {
          bytes_sent: c.bytes_sent,
          bytes_acked: c.bytes_acked,
          bytes_received: c.bytes_received,
          segs_out: c.segs_out,
          segs_in: c.segs_in,
          opens: f.opens,
          connections: live.length,
        },
      });
      out.get("tcp_abn")!.push({
        labels,
        values: {
          retrans: c.total_retrans,
          retrans_events: c.retrans_skbs,
          retrans_failed: c.retrans_failed,
          retrans_ratio: c.segs_out ? c.total_retrans / c.segs_out : 0,
          lost: sum((s) => s.lost_out),
          sacked: sum((s) => s.sacked_out),
          backlog: sum((s) => s.backlog),
          drops: c.drops,
          rst_sent: c.rst_sent,
          rst_received: c.rst_recv,
        },
      });
      if (f.syn.count) out.get("tcp_srtt")!.push({ labels, values: { syn_rtt: f.syn.value() } });
      if (f.connect.count) {
        out.get("tcp_delay")!.push({ labels, values: { connect_latency: f.connect.value() } });
      }
      out.get("tcp_windows")!.push({
        labels,
        values: {
          zero_window_rx: c.zero_wnd_rx,
          zero_window_tx: c.zero_wnd_tx,
          ...(live.length
            ? {
              cwnd: min((s) => s.snd_cwnd),
              ssthresh: min((s) => s.snd_ssthresh),
              snd_wnd: min((s) => s.snd_wnd),
              rcv_wnd: min((s) => s.rcv_wnd),
              notsent: max((s) => s.notsent_bytes),
              notacked: max((s) => s.notacked_bytes),
              reordering: max((s) => s.reordering),
            }
            : {}),
        },
      });
      if (!live.length) continue; // gauges only describe open connections
      out.get("tcp_rtt")!.push({
        labels,
        values: {
          srtt: us(max((s) => s.srtt_us)),
          rttvar: us(max((s) => s.rttvar_us)),
          rcv_rtt: us(max((s) => s.rcv_rtt_us)),
        },
      });
      out.get("tcp_rate")!.push({
        labels,
        values: {
          rto: jiffies(max((s) => s.rto_jiffies)),
          ato: jiffies(max((s) => s.ato_jiffies)),
          mss: max((s) => s.mss),
        },
      });
      out.get("tcp_sockbuf")!.push({
        labels,
        values: {
          rcvbuf: max((s) => s.rcvbuf),
          sndbuf: max((s) => s.sndbuf),
          rmem_alloc: max((s) => s.rmem_alloc),
          wmem_queued: max((s) => s.wmem_queued),
        },
      });
    }
    return out;
  }
}
