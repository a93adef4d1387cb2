/**
 * The TCP driver alone (no runner: rows go nowhere) with 10,000 tracked connections at
 * report_period 5, to split bench/tcp_runner_bench.ts's figures between the probe and the
 * runner's publishing. Prints this process's RSS and V8 heap before the probe, after start and
 * after some reports, and the CPU share over the window.
 *
 * Run: deno run -A --unstable-kv bench/tcp_driver_mem_bench.ts [seconds]
 * With `--v8-flags=--expose-gc` each line also gives the V8 heap after a full GC: what is live,
 * without the garbage a snapshot catches between collections (compare two trees with that).
 */

import { allSubprobes, configFor, startProbe } from "../tests/probes/tcp/harness.ts";
import { heldConnections } from "./tcp_workload.ts";
import { formatBreakdown, formatV8, memoryBreakdown } from "./runner_memory.ts";

const windowSecs = Number(Deno.args[0] ?? 30);
const ALL = await allSubprobes("tcp");

const gc = (globalThis as { gc?: () => void }).gc;

function usage(): string {
  const line = `${formatBreakdown(memoryBreakdown("self"))}; ${formatV8(Deno.memoryUsage())}`;
  if (!gc) return line;
  gc();
  return `${line}; after a GC ${formatV8(Deno.memoryUsage())}`;
}
function cpuTicks(): number {
  const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** The mappings of this process holding the most resident memory. */
function topMappings(n: number): string[] {
  const out: [number, string][] = [];
  let head = "";
  for (const l of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) head = l.split(/\s+/).slice(5).join(" ") || "[anon]";
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (m) out.push([Number(m[1]), head]);
  }
  return out.sort((a, b) => b[0] - a[0]).slice(0, n).map(([kb, name]) =>
    `${(kb / 1024).toFixed(1)} MB ${name}`
  );
}

const { net, srv, cli } = await heldConnections("dm-dm");
await cli.send();
await cli.next();
console.log(`before the probe: ${usage()}`);
for (const m of topMappings(3)) console.log(`  ${m}`);
const h = await startProbe(
  "tcp",
  await configFor("tcp", ALL, { report_period: 5 }),
  new Set([srv.pid, cli.pid]),
);
try {
  console.log(`started:          ${usage()}`);
  const reports = () => h.driver.status!().details!.reports as number;
  while (reports() < 2) await new Promise((r) => setTimeout(r, 500));
  console.log(`two reports:      ${usage()}`);
  const t0 = cpuTicks(), w0 = performance.now();
  await new Promise((r) => setTimeout(r, windowSecs * 1000));
  const cpu = (cpuTicks() - t0) / 100 / ((performance.now() - w0) / 1000);
  const d = h.driver.status!().details!;
  console.log(`after ${windowSecs}s:        ${usage()}`);
  console.log(
    `  ${d.liveConnections} live connections, ${d.flows} flows, ${d.reports} reports; CPU ${
      (cpu * 100).toFixed(2)
    }% of a core (driver only)`,
  );
  console.log("largest mappings by RSS:");
  for (const m of topMappings(8)) console.log(`  ${m}`);
} finally {
  await h.close();
  await cli.kill();
  await srv.kill();
  await net.close();
}
