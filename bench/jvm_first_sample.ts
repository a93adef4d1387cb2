/**
 * `deno run -A --unstable-kv bench/jvm_first_sample.ts [--rounds 3] [--period 5]`
 *
 * Time from `PUT /sermant` (attach a running, busy gRPC client) to the first L7 sample on
 * /metrics, split into attach (PUT → agent connected) and the rest (→ first report). Target:
 * ≤ 1 s plus one report period.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseMetrics, startDemarc } from "../tests/helpers/demarc.ts";
import { BUILD, jarsBuilt, startApp } from "../tests/probes/jvm/apps.ts";
import { jvmStatuses, watch } from "../tests/probes/jvm/probe_client.ts";

const { values: opt } = parseArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "3" }, period: { type: "string", default: "5" } },
});
if (!jarsBuilt()) {
  console.error("build/java/*.jar missing: run `deno task build --java-only` first");
  Deno.exit(2);
}
const PERIOD = Number(opt.period);
const demarc = await startDemarc({ logLevel: "warn", buildDir: BUILD });
const rows: Array<{ attachMs: number; firstSampleMs: number }> = [];
try {
  for (let round = 0; round < Number(opt.rounds); round++) {
    const server = await startApp("grpc-server", ["--tls-port", "-1"]);
    const client = await startApp("grpc-client", ["--target", `127.0.0.1:${server.ports.plain}`]);
    try {
      await client.run(2000);
      const busy = client.run(PERIOD * 1000 * 4, "rate=1000"); // keeps calling while we attach
      const t0 = performance.now();
      await watch(demarc, [client.pid], {
        params: { report_period: PERIOD },
        probes: ["l7_rpc_metrics"],
      });
      let attachMs = NaN;
      for (;;) {
        const now = performance.now() - t0;
        if (
          isNaN(attachMs) && (await jvmStatuses(demarc))[String(client.pid)]?.state === "connected"
        ) attachMs = now;
        const seen = parseMetrics(await demarc.scrape()).some((s) =>
          s.name === "demarc_l7_rpc_requests_total" && s.labels.tgid === String(client.pid) &&
          s.value > 0
        );
        if (seen) {
          rows.push({ attachMs, firstSampleMs: now });
          console.error(
            `round ${round + 1}: attached after ${attachMs.toFixed(0)} ms, first sample after ${
              now.toFixed(0)
            } ms`,
          );
          break;
        }
        if (now > 60_000) throw new Error("no L7 sample within 60 s");
        await new Promise((r) => setTimeout(r, 20));
      }
      await watch(demarc, [client.pid], { state: "stopped" });
      await busy;
    } finally {
      await client.stop();
      await server.stop();
    }
  }
} finally {
  await demarc.close();
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const worst = Math.max(...rows.map((r) => r.firstSampleMs));
console.log(
  `\nTime from PUT /sermant to the first L7 sample (report period ${PERIOD} s, ${rows.length} rounds)`,
);
console.log(
  `attach (PUT → agent connected): mean ${mean(rows.map((r) => r.attachMs)).toFixed(0)} ms`,
);
console.log(
  `first sample: mean ${mean(rows.map((r) => r.firstSampleMs)).toFixed(0)} ms, worst ${
    worst.toFixed(0)
  } ms; target ≤ ${1000 + PERIOD * 1000} ms: ${worst <= 1000 + PERIOD * 1000 ? "met" : "NOT met"}`,
);
