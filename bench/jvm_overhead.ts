/**
 * `deno run -A --unstable-kv bench/jvm_overhead.ts [--rate 1000] [--seconds 8] [--saturation-calls 20000]`
 *
 * Side by side in one run, for Dubbo, gRPC and HTTP echo services: no agent vs demarc's agent
 * (attached at run time through the API, all three sub-probes on) vs the OpenTelemetry Java agent
 * (at start-up, exporters off). For each: mean and p99 latency at a fixed rate, throughput at
 * saturation, and allocation per call (client + server JVM, JFR allocation samples). Prints ratios
 * and the latency each agent adds per call; writes build/bench/jvm_overhead.json.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { startDemarc } from "../tests/helpers/demarc.ts";
import { BUILD, jarsBuilt, startApp } from "../tests/probes/jvm/apps.ts";
import { waitConnected, watch } from "../tests/probes/jvm/probe_client.ts";
import {
  allocatedDuring,
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
    seconds: { type: "string", default: "8" },
    "saturation-calls": { type: "string", default: "20000" },
    "warmup-calls": { type: "string", default: "20000" },
    only: { type: "string" },
  },
});
const RATE = Number(opt.rate);
const FIXED_CALLS = RATE * Number(opt.seconds);
const SAT_CALLS = Number(opt["saturation-calls"]);
const WARM_CALLS = Number(opt["warmup-calls"]);

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
}

if (!jarsBuilt()) {
  console.error("build/java/*.jar missing: run `deno task build --java-only` first");
  Deno.exit(2);
}
const otel = await otelAgent();
const demarc = await startDemarc({ logLevel: "warn", buildDir: BUILD });

async function measure(svc: Service, mode: Mode): Promise<Figures> {
  const jvmArgs = (
    side: string,
  ) => [
    "-Xms256m",
    "-Xmx256m",
    ...(mode === "otel" ? otelJvmArgs(otel, `${svc.name}-${side}`) : []),
  ];
  const server = await startApp(svc.server[0], svc.server[1], { jvmArgs: jvmArgs("server") });
  const [clientApp, clientFlags] = svc.client(server.ports);
  const client = await startApp(clientApp, clientFlags, { jvmArgs: jvmArgs("client") });
  try {
    if (mode === "demarc") {
      await watch(demarc, [server.pid, client.pid], {
        params: { report_period: 5, trace_sample_ratio: 0.01 },
      });
      await waitConnected(demarc, [server.pid, client.pid]);
    }
    await client.run(WARM_CALLS, "concurrency=4");
    const { bytes, result: fixed } = await allocatedDuring(
      [server.pid, client.pid],
      () => client.run(FIXED_CALLS, `rate=${RATE} concurrency=4`),
    );
    const sat = await client.run(SAT_CALLS, "concurrency=8");
    if (fixed.ok !== FIXED_CALLS || sat.ok !== SAT_CALLS) {
      throw new Error(`${svc.name}/${mode}: calls failed`);
    }
    return {
      service: svc.name,
      mode,
      fixedMeanUs: fixed.meanNs / 1e3,
      fixedP99Us: fixed.p99Ns / 1e3,
      saturationCallsPerS: sat.calls / (sat.elapsedNs / 1e9),
      saturationMeanUs: sat.meanNs / 1e3,
      allocBytesPerCall: bytes / FIXED_CALLS,
    };
  } finally {
    if (mode === "demarc") await watch(demarc, [], { state: "stopped" }).catch(() => {});
    await client.stop();
    await server.stop();
  }
}

const results: Figures[] = [];
try {
  for (const svc of SERVICES.filter((s) => !opt.only || opt.only.split(",").includes(s.name))) {
    for (const mode of MODES) {
      const f = await measure(svc, mode);
      results.push(f);
      console.error(`${svc.name.padEnd(6)} ${mode.padEnd(7)} ${JSON.stringify(f)}`);
    }
  }
} finally {
  await demarc.stop();
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(9);
console.log(
  `\nJVM agent overhead (fixed rate ${RATE}/s x ${opt.seconds} s, saturation ${SAT_CALLS} calls at concurrency 8; OpenTelemetry agent ${OTEL_VERSION})`,
);
console.log(
  `${"service".padEnd(7)} ${"agent".padEnd(7)} ${"mean µs".padStart(9)} ${"+mean µs".padStart(9)} ${
    "p99 µs".padStart(9)
  } ${"+p99 µs".padStart(9)} ${"calls/s".padStart(9)} ${"tput ×".padStart(9)} ${
    "B/call".padStart(9)
  } ${"+B/call".padStart(9)}`,
);
for (const r of results) {
  const base = results.find((b) => b.service === r.service && b.mode === "none")!;
  console.log(
    `${r.service.padEnd(7)} ${r.mode.padEnd(7)} ${fmt(r.fixedMeanUs)} ${
      fmt(r.fixedMeanUs - base.fixedMeanUs)
    } ${fmt(r.fixedP99Us)} ${fmt(r.fixedP99Us - base.fixedP99Us)} ${
      fmt(r.saturationCallsPerS, 0)
    } ${fmt(r.saturationCallsPerS / base.saturationCallsPerS, 3)} ${fmt(r.allocBytesPerCall, 0)} ${
      fmt(r.allocBytesPerCall - base.allocBytesPerCall, 0)
    }`,
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
      otel: OTEL_VERSION,
      results,
    },
    null,
    2,
  ),
);
