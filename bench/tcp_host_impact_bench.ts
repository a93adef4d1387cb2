/**
 * Host impact of the TCP probe, measured side by side in one run: the same load with the probe
 * off and on (all sub-probes, watching the load's processes), alternated over rounds, medians
 * compared. Targets: short connections >= 95% of off, bulk >= 98%, request/response >= 97%.
 *
 * Run: deno run -A --unstable-kv bench/tcp_host_impact_bench.ts [rounds]
 */

import { configFor, type Harness, startProbe } from "../tests/probes/tcp/harness.ts";
import { median, Workload } from "./tcp_workload.ts";

const ALL = [
  "tcp_stats",
  "tcp_rtt",
  "tcp_windows",
  "tcp_rate",
  "tcp_srtt",
  "tcp_sockbuf",
  "tcp_abnormal",
  "tcp_delay",
];
const rounds = Number(Deno.args[0] ?? 3);
const w = await Workload.start();
const figures = {
  short: { off: [] as number[], on: [] as number[] },
  bulk: { off: [] as number[], on: [] as number[] },
  rr: { off: [] as number[], on: [] as number[] },
};

async function round(on: boolean): Promise<void> {
  let h: Harness | undefined;
  const pids = new Set(w.serverPids);
  if (on) h = await startProbe("tcp", await configFor("tcp", ALL, { report_period: 5 }), pids);
  const watch = async (pid: number) => {
    pids.add(pid);
    await h?.driver.updatePids(new Set(pids));
  };
  const key = on ? "on" : "off";
  try {
    figures.short[key].push(await w.shortRate(3000, watch));
    figures.bulk[key].push(await w.bulk(3, watch));
    figures.rr[key].push(await w.rrRate(10000, watch));
  } finally {
    await h?.close();
  }
}

try {
  for (let i = 0; i < rounds; i++) {
    await round(i % 2 === 0);
    await round(i % 2 !== 0);
  }
} finally {
  await w.close();
}

const targets = { short: 0.95, bulk: 0.98, rr: 0.97 };
const units = { short: "conn/s", bulk: "Gbit/s", rr: "round trips/s" };
console.log(`TCP probe host impact, median of ${rounds} alternated rounds (probe off vs on):`);
for (const k of ["short", "bulk", "rr"] as const) {
  const scale = k === "bulk" ? 1e-9 : 1;
  const off = median(figures[k].off) * scale, on = median(figures[k].on) * scale;
  const ratio = on / off;
  console.log(
    `  ${k.padEnd(6)} off ${off.toFixed(k === "bulk" ? 2 : 0).padStart(9)} ${
      units[k].padEnd(14)
    } on ${on.toFixed(k === "bulk" ? 2 : 0).padStart(9)}  ` +
      `ratio ${ratio.toFixed(3)} (target >= ${targets[k]}) ${ratio >= targets[k] ? "ok" : "BELOW"}`,
  );
}
