import assert from "node:assert/strict";
import { JvmSeries, selectSpans } from "../../../probes/jvm/aggregate.ts";
import type { AgentRow, Metrics, Span } from "../../../probes/jvm/messages.ts";
import { agentRowSchema, spanSchema } from "../../../probes/jvm/messages.ts";

const row = (o: Partial<AgentRow>): AgentRow =>
  agentRowSchema.parse({
    protocol: "grpc",
    role: "client",
    localIp: "127.0.0.1",
    localPort: 40000,
    peerIp: "127.0.0.1",
    peerPort: 50051,
    service: "demo.Echo",
    method: "Say",
    library: "grpc",
    ...o,
  });

const period = (rows: AgentRow[], startMs = 0, endMs = 5000): Metrics => ({
  periodStartMs: startMs,
  periodEndMs: endMs,
  rows,
  overflowRows: 0,
  droppedFrames: 0,
  internalErrors: 0,
});

Deno.test("counters accumulate across periods while gauges describe the last one", () => {
  const s = new JvmSeries({ tgid: 7, comm: "java" }, 3);
  s.addMetrics(
    period([row({ requests: 10, responses: 10, latencyCounts: [4, 6, 0], latencySumNs: 10e6 })]),
  );
  s.addMetrics(
    period(
      [row({
        requests: 5,
        responses: 5,
        serverErrors: 1,
        latencyCounts: [5, 0, 0],
        latencySumNs: 2.5e6,
      })],
      5000,
      10000,
    ),
  );
  const [r] = s.linkRows();
  assert.equal(r.values.requests, 15);
  assert.equal(r.values.server_errors, 1);
  assert.deepEqual(r.values.latency, { counts: [9, 6, 0], sum: 0.0125, count: 15 });
  assert.equal(r.values.latency_avg, 0.0005);
  assert.equal(r.values.request_rate, 1);
  assert.equal(r.values.error_ratio, 0.2);
});

Deno.test("a client-side local port is folded away; the server's address is the link", () => {
  const s = new JvmSeries({ tgid: 7, comm: "java" }, 1);
  s.addMetrics(
    period([row({ localPort: 40001, requests: 1 }), row({ localPort: 40002, requests: 2 })]),
  );
  const rows = s.linkRows();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].labels.server_port, 50051);
  assert.equal(rows[0].values.requests, 3);
});

Deno.test("a server row puts the peer in client_ip and its own port in server_port", () => {
  const s = new JvmSeries({ tgid: 7, comm: "java" }, 1);
  s.addMetrics(
    period([
      row({ role: "server", localPort: 8080, peerIp: "10.0.0.2", peerPort: 3333, requests: 1 }),
    ]),
  );
  const [r] = s.apiRows();
  assert.equal(r.labels.client_ip, "10.0.0.2");
  assert.equal(r.labels.server_port, 8080);
  assert.equal(r.labels.method, "Say");
});

Deno.test("a period without a series zeroes its rates but keeps its counters", () => {
  const s = new JvmSeries({ tgid: 7, comm: "java" }, 1);
  s.addMetrics(period([row({ requests: 4, responses: 4 })]));
  s.addMetrics(period([], 5000, 10000));
  const [r] = s.linkRows();
  assert.equal(r.values.requests, 4);
  assert.equal(r.values.request_rate, 0);
});

Deno.test("bytes count only where the library exposes them", () => {
  const s = new JvmSeries({ tgid: 7, comm: "java" }, 1);
  s.addMetrics(period([row({ requests: 1 })]));
  assert.equal(s.bytesRows().length, 0);
  s.addMetrics(period([row({ requests: 1, bytesSent: 100, bytesReceived: 40 })]));
  assert.deepEqual(s.bytesRows()[0].values, { bytes_sent: 100, bytes_received: 40 });
  const only = new JvmSeries({ tgid: 8, comm: "java" }, 1);
  only.addMetrics(period([row({ requests: 1, bytesReceived: 40 })]));
  assert.deepEqual(
    only.bytesRows()[0].values,
    { bytes_received: 40 },
    "an unexposed direction stays absent",
  );
});

Deno.test("a histogram on other bounds counts calls but not buckets", () => {
  const s = new JvmSeries({ tgid: 7, comm: "java" }, 3);
  s.addMetrics(period([row({ requests: 2, latencyCounts: [1, 1], latencySumNs: 2e6 })]));
  const h = s.linkRows()[0].values.latency as { counts: number[]; count: number };
  assert.deepEqual(h.counts, [0, 0, 0]);
  assert.equal(h.count, 2);
  assert.equal(s.mismatchedHistograms, 1);
});

Deno.test("latency_thr keeps slow and failed spans only", () => {
  const mk = (durationNs: number, error?: string): Span =>
    spanSchema.parse({
      traceId: "t",
      spanId: String(durationNs),
      startEpochNs: 0,
      durationNs,
      protocol: "http",
      role: "client",
      error,
    });
  const kept = selectSpans([mk(1e6), mk(20e6), mk(2e6, "UNAVAILABLE")], 10, 100);
  assert.deepEqual(kept.map((s) => s.spanId), ["20000000", "2000000"]);
});
