/**
 * Turning the agent's per-period aggregates into meta table rows: counters accumulate since the
 * series started (the JVM was attached), gauges describe the last report period.
 *
 * @module
 */

import type { HistogramValue, Row } from "../../runner/probe_api.ts";
import type { AgentRow, Metrics, Span } from "./messages.ts";

/** Labels every row of one JVM carries. */
export interface ProcessLabels {
  tgid: number;
  comm: string;
}

interface CallSeries {
  labels: Record<string, string | number>;
  requests: number;
  responses: number;
  clientErrors: number;
  serverErrors: number;
  latency: HistogramValue;
  /** Values of the last report period that touched this series (zeroed by a report without it). */
  last: {
    requests: number;
    responses: number;
    errors: number;
    observed: number;
    latencySumNs: number;
    periodS: number;
  };
}

interface LinkBytes {
  labels: Record<string, string | number>;
  /** Undefined while the library has never exposed this direction. */
  sent: number | undefined;
  received: number | undefined;
}

/** Where a row's client and server sit, whatever side the JVM is on. */
function linkLabels(p: ProcessLabels, r: AgentRow): Record<string, string | number> {
  const client = r.role === "client";
  return {
    tgid: p.tgid,
    comm: p.comm,
    protocol: r.protocol,
    role: r.role,
    ssl: String(r.ssl),
    client_ip: client ? r.localIp : r.peerIp,
    server_ip: client ? r.peerIp : r.localIp,
    server_port: client ? r.peerPort : r.localPort,
  };
}

const idOf = (labels: Record<string, string | number>, keys: readonly string[]) =>
  keys.map((k) => labels[k] ?? "").join("\0");

const LINK_KEYS = ["protocol", "role", "ssl", "client_ip", "server_ip", "server_port"] as const;
const API_KEYS = [...LINK_KEYS, "service", "method", "library"] as const;

/**
 * Accumulated L7 series of one attached JVM. Feed it METRICS payloads; read rows per table.
 * Histograms whose bucket count differs from `bucketCount` (an agent still on other bounds) add to
 * counts and sums but not to buckets, and are counted in {@link mismatchedHistograms}.
 */
export class JvmSeries {
  readonly #proc: ProcessLabels;
  readonly #bucketCount: number;
  readonly #links = new Map<string, CallSeries>();
  readonly #apis = new Map<string, CallSeries>();
  readonly #bytes = new Map<string, LinkBytes>();
  #spans: Span[] = [];
  /** Rows whose latency histogram did not match the configured bounds. */
  mismatchedHistograms = 0;

  /**
   * @param proc the JVM's tgid and comm (labels of every row)
   * @param bucketCount histogram buckets including +Inf (meta bounds + 1)
   */
  constructor(proc: ProcessLabels, bucketCount: number) {
    this.#proc = proc;
    this.#bucketCount = bucketCount;
  }

  /** Add one report period. */
  addMetrics(m: Metrics): void {
    const periodS = Math.max(0.001, (m.periodEndMs - m.periodStartMs) / 1000);
    for (const s of [...this.#links.values(), ...this.#apis.values()]) {
      s.last = { requests: 0, responses: 0, errors: 0, observed: 0, latencySumNs: 0, periodS };
    }
    for (const r of m.rows) {
      if (r.latencyCounts.length !== this.#bucketCount && r.latencyCounts.some((c) => c > 0)) {
        this.mismatchedHistograms++;
      }
      const link = linkLabels(this.#proc, r);
      this.#addCalls(this.#links, idOf(link, LINK_KEYS), link, r, periodS);
      const api = { ...link, service: r.service, method: r.method, library: r.library };
      this.#addCalls(this.#apis, idOf(api, API_KEYS), api, r, periodS);
      if (r.bytesSent >= 0 || r.bytesReceived >= 0) {
        const id = idOf(link, LINK_KEYS);
        let b = this.#bytes.get(id);
        if (!b) this.#bytes.set(id, b = { labels: link, sent: undefined, received: undefined });
        // A direction the library does not expose (-1) stays absent rather than reading 0.
        if (r.bytesSent >= 0) b.sent = (b.sent ?? 0) + r.bytesSent;
        if (r.bytesReceived >= 0) b.received = (b.received ?? 0) + r.bytesReceived;
      }
    }
  }

  /** Replace the spans of the last period with these (already filtered by the caller). */
  setSpans(spans: Span[]): void {
    this.#spans = spans;
  }

  #addCalls(
    into: Map<string, CallSeries>,
    id: string,
    labels: Record<string, string | number>,
    r: AgentRow,
    periodS: number,
  ): void {
    let s = into.get(id);
    if (!s) {
      s = {
        labels,
        requests: 0,
        responses: 0,
        clientErrors: 0,
        serverErrors: 0,
        latency: { counts: new Array(this.#bucketCount).fill(0), sum: 0, count: 0 },
        last: { requests: 0, responses: 0, errors: 0, observed: 0, latencySumNs: 0, periodS },
      };
      into.set(id, s);
    }
    s.requests += r.requests;
    s.responses += r.responses;
    s.clientErrors += r.clientErrors;
    s.serverErrors += r.serverErrors;
    const observed = r.latencyCounts.reduce((a, b) => a + b, 0);
    if (r.latencyCounts.length === this.#bucketCount) {
      r.latencyCounts.forEach((c, i) => s.latency.counts[i] += c);
    }
    s.latency.count += observed;
    s.latency.sum += r.latencySumNs / 1e9;
    s.last.requests += r.requests;
    s.last.responses += r.responses;
    s.last.errors += r.clientErrors + r.serverErrors;
    s.last.observed += observed;
    s.last.latencySumNs += r.latencySumNs;
  }

  /** Rows of `l7_rpc` (per link). */
  linkRows(): Row[] {
    return [...this.#links.values()].map(callRow);
  }

  /** Rows of `l7_rpc_api` (per service/method or route). */
  apiRows(): Row[] {
    return [...this.#apis.values()].map(callRow);
  }

  /** Rows of `l7_link` (bytes per link). */
  bytesRows(): Row[] {
    return [...this.#bytes.values()].map((b) => {
      const values: Record<string, number> = {};
      if (b.sent !== undefined) values.bytes_sent = b.sent;
      if (b.received !== undefined) values.bytes_received = b.received;
      return { labels: b.labels, values };
    });
  }

  /** Rows of `l7_rpc_trace` (the last period's spans). */
  spanRows(): Row[] {
    return this.#spans.map((s) => ({
      labels: {
        tgid: this.#proc.tgid,
        comm: this.#proc.comm,
        trace_id: s.traceId,
        span_id: s.spanId,
        protocol: s.protocol,
        role: s.role,
        ssl: String(s.ssl),
        local_ip: s.localIp,
        local_port: s.localPort,
        peer_ip: s.peerIp,
        peer_port: s.peerPort,
        service: s.service,
        method: s.method,
        status: s.status,
        error: s.error ?? "",
      },
      values: { start_time: s.startEpochNs / 1e9, duration: s.durationNs / 1e9 },
    }));
  }
}

function callRow(s: CallSeries): Row {
  const l = s.last;
  return {
    labels: s.labels,
    values: {
      requests: s.requests,
      responses: s.responses,
      client_errors: s.clientErrors,
      server_errors: s.serverErrors,
      latency: { counts: [...s.latency.counts], sum: s.latency.sum, count: s.latency.count },
      latency_avg: l.observed > 0 ? l.latencySumNs / l.observed / 1e9 : 0,
      request_rate: l.requests / l.periodS,
      response_rate: l.responses / l.periodS,
      error_ratio: l.responses > 0 ? l.errors / l.responses : 0,
    },
  };
}

/**
 * Keep the spans `l7_rpc_trace` shows: at least `thresholdMs` slow, or failed; at most `limit`.
 *
 * @param spans spans of one SPANS frame
 * @param thresholdMs the probe's `latency_thr` (0 keeps all)
 * @param limit most spans kept per JVM and period
 */
export function selectSpans(spans: Span[], thresholdMs: number, limit: number): Span[] {
  const thrNs = thresholdMs * 1e6;
  const kept = spans.filter((s) =>
    s.durationNs >= thrNs || (s.error !== undefined && s.error !== "")
  );
  return kept.slice(0, limit);
}
