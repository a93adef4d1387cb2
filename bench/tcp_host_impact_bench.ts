/**
 * Host impact of the TCP probe, measured side by side in one run: the same load with the probe
 * off and on (all sub-probes, watching the load's processes), alternated over rounds, medians
 * compared. Targets: short connections >= 95% of off, bulk >= 98%, request/response >= 97%.
 *
 * Run: deno run -A --unstable-kv bench/tcp_host_impact_bench.ts [rounds]
 */

import { allSubprobes, configFor, type Harness, startProbe } from "../tests/probes/tcp/harness.ts";
import { median, Workload } from "./tcp_workload.ts";

const ALL = await allSubprobes("tcp");
const rounds = Number(Deno.args[0] ?? 3);
const w = await Workload.start();
type Mode = "off" | "on" | "on_no_windows";
const MODES: Mode[] = ["off", "on", "on_no_windows"];
const figures = Object.fromEntries(
  ["short", "bulk", "rr"].map((
    k,
  ) => [k, Object.fromEntries(MODES.map((m) => [m, [] as number[]]))]),
) as Record<"short" | "bulk" | "rr", Record<Mode, number[]>>;

async function round(mode: Mode): Promise<void> {
  let h: Harness | undefined;
  const pids = new Set(w.serverPids);
  const subprobes = mode === "on" ? ALL : ALL.filter((s) => s !== "tcp_windows");
  if (mode !== "off") {
    h = await startProbe("tcp", await configFor("tcp", subprobes, { report_period: 5 }), pids);
  }
  const watch = async (pid: number) => {
    pids.add(pid);
    await h?.driver.updatePids(new Set(pids));
  };
  const key = mode;
  try {
    figures.short[key].push(await w.shortRate(3000, watch));
    figures.bulk[key].push(await w.bulk(3, watch));
    figures.rr[key].push(await w.rrRate(10000, watch));
  } finally {
    await h?.close();
  }
}

const targets = { short: 0.95, bulk: 0.98, rr: 0.97 };
const units = { short: "conn/s", bulk: "Gbit/s", rr: "round trips/s" };
try {
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < MODES.length; j++) await round(MODES[(i + j) % MODES.length]);
  }
} finally {
  await w.close();
}

console.log(
  `TCP probe host impact, median of ${rounds} rotated rounds (off, on, on without tcp_windows):`,
);
for (const k of ["short", "bulk", "rr"] as const) {
  const scale = k === "bulk" ? 1e-9 : 1, digits = k === "bulk" ? 2 : 0;
  const off = median(figures[k].off) * scale;
  const parts = (["on", "on_no_windows"] as const).map((m) => {
    const v = median(figures[k][m]) * scale, ratio = v / off;
    return `${m} ${v.toFixed(digits)} ratio ${ratio.toFixed(3)} ${
      ratio >= targets[k] ? "ok" : "BELOW"
    }`;
  });
  console.log(
    `  ${k.padEnd(6)} off ${off.toFixed(digits)} ${units[k]}; ${parts.join("; ")} (target >= ${
      targets[k]
    })`,
  );
}
