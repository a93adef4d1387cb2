/**
 * `deno run -A --unstable-kv bench/jvm_overhead.ts [--rate 1000] [--seconds 5] [--rounds 3]
 *   [--saturation-calls 20000] [--only grpc,http]`
 *
 * Side by side in one run, for Dubbo, gRPC and HTTP echo services: no agent vs demarc's agent
 * (attached at run time through the API, all three sub-probes on) vs the OpenTelemetry Java agent
 * (at start-up, exporters off). The three server/client pairs of a service run at the same time
 * and are measured in turn, round after round (rotating the order), so drift on a shared machine
 * hits all three alike; figures are medians over rounds. Per pair: mean and p99 latency at a
 * fixed rate, throughput at saturation, allocation per call (client + server JVM, eden growth).
 * Prints ratios and the latency each agent adds; writes build/bench/jvm_overhead.json.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startDemarc } from "../tests/helpers/demarc.ts";
import { BUILD, jarsBuilt, startApp, type TestApp } from "../tests/probes/jvm/apps.ts";
import { waitConnected, watch } from "../tests/probes/jvm/probe_client.ts";
import {
  allocatedDuring,
  BENCH_JVM_ARGS,
  OTEL_VERSION,
  otelAgent,
  otelJvmArgs,
  type Service,
  SERVICES,
} from "./jvm_lib.ts";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: {
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    "saturation-calls": { type: "string", default: "20000" },
    "warmup-calls": { type: "string", default: "30000" },
    only: { type: "string" },
  },
});
const RATE = Number(opt.rate);
const FIXED_CALLS = RATE * Number(opt.seconds);
const SAT_CALLS = Number(opt["saturation-calls"]);
const WARM_CALLS = Number(opt["warmup-calls"]);
const ROUNDS = Number(opt.rounds);
/** Calls in the allocation window (small enough to fit one eden). */
const ALLOC_CALLS = 2000;

type Mode = "none" | "demarc" | "otel";
const MODES: Mode[] = ["none", "demarc", "otel"];

interface Figures {
  service: string;
  mode: Mode;
  fixedMeanUs: number;
  fixedP99Us: number;
  saturationCallsPerS: number;
  saturationMeanUs: number;
  allocBytesPerCall: number;
  /** Calls that did not succeed across all rounds (0 expected). */
  failedCalls: number;
}

interface Pair {
  mode: Mode;
  server: TestApp;
  client: TestApp;
}

if (!jarsBuilt()) {
  console.error("build/java/*.jar missing: run `deno task build --java-only` first");
  Deno.exit(2);
}
const otel = await otelAgent();
const demarc = await startDemarc({ logLevel: "warn", buildDir: BUILD });

async function startPair(svc: Service, mode: Mode): Promise<Pair> {
  const jvmArgs = (side: string) => [
    ...BENCH_JVM_ARGS,
    ...(mode === "otel" ? otelJvmArgs(otel, `${svc.name}-${side}`) : []),
  ];
  const server = await startApp(svc.server[0], svc.server[1], { jvmArgs: jvmArgs("server") });
  const [clientApp, clientFlags] = svc.client(server.ports);
  const client = await startApp(clientApp, clientFlags, { jvmArgs: jvmArgs("client") });
  return { mode, server, client };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measureService(svc: Service): Promise<Figures[]> {
  const pairs: Pair[] = [];
  try {
    for (const mode of MODES) pairs.push(await startPair(svc, mode));
    const d = pairs.find((p) => p.mode === "demarc")!;
    await watch(demarc, [d.server.pid, d.client.pid], {
      params: { report_period: 5, trace_sample_ratio: 0.01 },
    });
    await waitConnected(demarc, [d.server.pid, d.client.pid]);
    for (const p of pairs) await p.client.run(WARM_CALLS, "concurrency=4");

    const raw = new Map<
      Mode,
      { mean: number[]; p99: number[]; tput: number[]; satMean: number[]; failed: number }
    >(MODES.map((m) => [m, { mean: [], p99: [], tput: [], satMean: [], failed: 0 }]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = pairs.map((_, i) => pairs[(i + round) % pairs.length]);
      for (const p of order) {
        const fixed = await p.client.run(FIXED_CALLS, `rate=${RATE} concurrency=4`);
        const sat = await p.client.run(SAT_CALLS, "concurrency=8");
        const r = raw.get(p.mode)!;
        if (fixed.ok !== FIXED_CALLS || sat.ok !== SAT_CALLS) {
          // Reported, not fatal: a failing call under an agent is itself a finding.
          r.failed += (FIXED_CALLS - fixed.ok) + (SAT_CALLS - sat.ok);
          console.error(`${svc.name}/${p.mode}: failed calls: ${JSON.stringify({ fixed, sat })}`);
        }
        r.mean.push(fixed.meanNs / 1e3);
        r.p99.push(fixed.p99Ns / 1e3);
        r.tput.push(sat.calls / (sat.elapsedNs / 1e9));
        r.satMean.push(sat.meanNs / 1e3);
        console.error(
          `${svc.name} round ${round + 1} ${p.mode}: mean ${(fixed.meanNs / 1e3).toFixed(0)} µs, ` +
            `p99 ${(fixed.p99Ns / 1e3).toFixed(0)} µs, ${r.tput.at(-1)!.toFixed(0)} calls/s`,
        );
      }
    }
    const out: Figures[] = [];
    for (const p of pairs) {
      const { bytes } = await allocatedDuring(
        [p.server.pid, p.client.pid],
        () => p.client.run(ALLOC_CALLS, `rate=${RATE} concurrency=4`),
      );
      const r = raw.get(p.mode)!;
      out.push({
        service: svc.name,
        mode: p.mode,
        fixedMeanUs: median(r.mean),
        fixedP99Us: median(r.p99),
        saturationCallsPerS: median(r.tput),
        saturationMeanUs: median(r.satMean),
        allocBytesPerCall: bytes / ALLOC_CALLS,
        failedCalls: r.failed,
      });
    }
    return out;
  } finally {
    await watch(demarc, [], { state: "stopped" }).catch(() => {});
    for (const p of pairs) {
      await p.client.stop();
      await p.server.stop();
    }
  }
}

const results: Figures[] = [];
try {
  for (const svc of SERVICES.filter((s) => !opt.only || opt.only.split(",").includes(s.name))) {
    results.push(...await measureService(svc));
  }
} finally {
  await demarc.stop();
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(9);
console.log(
  `\nJVM agent overhead: medians of ${ROUNDS} rounds; fixed rate ${RATE}/s for ${opt.seconds} s ` +
    `(concurrency 4), saturation ${SAT_CALLS} calls (concurrency 8); OpenTelemetry agent ${OTEL_VERSION}`,
);
console.log(
  ["service", "agent"].map((h) => h.padEnd(7)).join(" ") + " " +
    ["mean µs", "+mean µs", "p99 µs", "+p99 µs", "calls/s", "tput ×", "B/call", "+B/call", "failed"]
      .map((h) => h.padStart(9)).join(" "),
);
for (const r of results) {
  const base = results.find((b) => b.service === r.service && b.mode === "none")!;
  console.log(
    [r.service.padEnd(7), r.mode.padEnd(7)].join(" ") + " " + [
      fmt(r.fixedMeanUs),
      fmt(r.fixedMeanUs - base.fixedMeanUs),
      fmt(r.fixedP99Us),
      fmt(r.fixedP99Us - base.fixedP99Us),
      fmt(r.saturationCallsPerS, 0),
      fmt(r.saturationCallsPerS / base.saturationCallsPerS, 3),
      fmt(r.allocBytesPerCall, 0),
      fmt(r.allocBytesPerCall - base.allocBytesPerCall, 0),
      fmt(r.failedCalls, 0),
    ].join(" "),
  );
}
await Deno.mkdir(`${BUILD}/bench`, { recursive: true });
await Deno.writeTextFile(
  `${BUILD}/bench/jvm_overhead.json`,
  JSON.stringify(
    {
      rate: RATE,
      fixedCalls: FIXED_CALLS,
      saturationCalls: SAT_CALLS,
      rounds: ROUNDS,
      otel: OTEL_VERSION,
      results,
    },
    null,
    2,
  ),
);
