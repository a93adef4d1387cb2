/**
 * The demarc process itself with the TCP probe tracking 10,000 connections (5,000 client and
 * 5,000 server sockets, 200 flows) at report_period 5: CPU share of one core and RSS of the
 * process, and how fast GET /metrics renders. Targets: <= 2% of a core, <= 80 MB RSS,
 * >= 500,000 series per second. CPU and the RSS target are taken over a steady window: reports
 * every 5 s and a scrape every 5 s, the RSS sampled each second and its peak kept. The RSS after
 * 15 back-to-back scrapes (the rendering-rate measurement) is printed too.
 *
 * Variants of `deno run` flags run side by side against the same connections, interleaved over
 * rounds (A B A B ...): by default `plain` (no flags, as before) and `shipped` (the flags of the
 * `start` task in deno.json, which compile.sh and deploy/demarc.service use too). Each run prints
 * where the RSS goes (smaps by mapping kind, and per mapping at the steady peak), its threads,
 * and V8's heap as the process itself sees it.
 *
 * Run: deno run -A --unstable-kv bench/tcp_runner_bench.ts [seconds] [rounds]
 *        [--variant name='NAME=value --flag --main=/other/tree/main.ts' ...]
 * e.g. the previous commit against this tree, both ways of running:
 *   mkdir /tmp/old && git archive HEAD~1 | tar -x -C /tmp/old
 *   deno run -A --unstable-kv bench/tcp_runner_bench.ts 20 2 --variant old=--main=/tmp/old/main.ts \
 *     --variant plain= --variant shipped="MALLOC_ARENA_MAX=2 --v8-flags=..."
 */

import { startDemarc, startTask, waitFor } from "../tests/helpers/demarc.ts";
import { allSubprobes, buildDirFor } from "../tests/probes/tcp/harness.ts";
import { heldConnections } from "./tcp_workload.ts";
import { compileBpf } from "../tests/ffi/build_fixture.ts";
import {
  formatBreakdown,
  formatParts,
  formatV8,
  mappingParts,
  memoryBreakdown,
  threadNames,
} from "./runner_memory.ts";
import type { MemoryBreakdown } from "./runner_memory.ts";

const positional = Deno.args.filter((a, i) =>
  !a.startsWith("--") && Deno.args[i - 1] !== "--variant"
);
const windowSecs = Number(positional[0] ?? 20);
const rounds = Number(positional[1] ?? 2);
/** A way to run demarc: `deno run` flags and environment variables (words like `NAME=value`). */
interface Variant {
  name: string;
  flags: string[];
  env: Record<string, string>;
  /** `--main=<path>`: another tree's main.ts, e.g. the previous commit unpacked with git archive. */
  mainPath?: string;
}
function variant(name: string, words: string[]): Variant {
  const isEnv = (w: string) => /^[A-Z_][A-Z0-9_]*=/.test(w);
  const env = Object.fromEntries(words.filter(isEnv).map((w) => w.split(/=(.*)/s).slice(0, 2)));
  const main = words.find((w) => w.startsWith("--main="))?.slice("--main=".length);
  const flags = words.filter((w) => !isEnv(w) && !w.startsWith("--main="));
  return { name, flags, env, mainPath: main };
}
const describe = (v: Variant) =>
  [
    ...(v.mainPath ? [`main=${v.mainPath}`] : []),
    ...Object.entries(v.env).map(([k, x]) => `${k}=${x}`),
    ...v.flags,
  ].join(" ") || "no flags";
const variants: Variant[] = [];
for (let i = 0; i < Deno.args.length; i++) {
  if (Deno.args[i] !== "--variant") continue;
  const [name, ...rest] = Deno.args[++i].split("=");
  variants.push(variant(name, rest.join("=").split(/\s+/).filter(Boolean)));
}
if (!variants.length) {
  const shipped = startTask();
  variants.push({ name: "plain", flags: [], env: {} }, { name: "shipped", ...shipped });
}
const ALL = await allSubprobes("tcp");

function cpuTicks(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 Hz)
}

function vmRssKb(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.split(/\s+/)[1] ?? 0);
}

interface RunFigures {
  idle: MemoryBreakdown;
  /** After a burst of scrapes. */
  loaded: MemoryBreakdown;
  /** The peak over the CPU window (reports and a scrape every 5 s). */
  steadyPeakKb: number;
  cpu: number;
  seriesPerSec: number;
  series: number;
}

const buildDir = await Deno.makeTempDir({ prefix: "demarc-bench-build-" });
await Deno.mkdir(`${buildDir}/bpf`);
await Deno.copyFile(`${await buildDirFor("tcp")}/bpf/tcp.bpf.o`, `${buildDir}/bpf/tcp.bpf.o`);
// The runner's exec watch (loaded with the first probe that has snoopers), from the working tree.
await Deno.copyFile(
  await compileBpf(new URL("../runner/exec_watch.bpf.c", import.meta.url).pathname, []),
  `${buildDir}/bpf/exec_watch.bpf.o`,
);
const { net, srv, cli } = await heldConnections("dm-rb");

async function run(v: Variant): Promise<RunFigures> {
  const demarc = await startDemarc({
    buildDir,
    logLevel: "warn",
    denoFlags: v.flags,
    env: v.env,
    mainPath: v.mainPath,
  });
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const idle = memoryBreakdown(demarc.pid);
    const put = await demarc.put("/tcp", {
      cmd: { probe: ALL },
      snoopers: { proc_id: [srv.pid, cli.pid] },
      params: { report_period: 5 },
      state: "running",
    });
    if (put.status !== 200) throw new Error(JSON.stringify(put));
    await waitFor(
      async () => {
        const d = (await demarc.get<
          { status: { driver?: { details?: { liveConnections?: number; reports?: number } } } }
        >("/tcp")).status.driver?.details;
        return (d?.liveConnections ?? 0) >= 10000 && (d?.reports ?? 0) >= 2;
      },
      60_000,
      "10,000 connections reported twice",
    );
    // The steady state: reports every 5 s and a Prometheus scrape every 5 s (a third of its
    // default interval); the RSS sampled every second, its peak kept.
    const t0 = cpuTicks(demarc.pid), w0 = performance.now();
    let steadyPeakKb = 0;
    let peakParts = "";
    for (let sec = 0; sec < windowSecs; sec++) {
      if (sec % 5 === 0) await demarc.scrape();
      const rss = vmRssKb(demarc.pid);
      if (rss > steadyPeakKb) peakParts = formatParts(mappingParts(demarc.pid));
      steadyPeakKb = Math.max(steadyPeakKb, rss);
      await new Promise((r) => setTimeout(r, w0 + (sec + 1) * 1000 - performance.now()));
    }
    const cpu = (cpuTicks(demarc.pid) - t0) / 100 / ((performance.now() - w0) / 1000);
    const times: number[] = [];
    let series = 0;
    for (let i = 0; i < 15; i++) {
      const s = performance.now();
      const text = await demarc.scrape();
      times.push(performance.now() - s);
      series = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
    }
    // And after a burst of 15 back-to-back scrapes: the worst case for rendering garbage.
    await new Promise((r) => setTimeout(r, 1000));
    const loaded = memoryBreakdown(demarc.pid);
    const v8 = (await demarc.get<{ memory?: Deno.MemoryUsage }>("/api/v1/runner")).memory;
    const best = Math.min(...times) / 1000;
    console.log(`    idle:   ${formatBreakdown(idle)}`);
    console.log(`    loaded: ${formatBreakdown(loaded)}; ${formatV8(v8)}`);
    console.log(
      `    CPU ${(cpu * 100).toFixed(2)}% of a core; /metrics ${series} series in ${
        (best * 1000).toFixed(1)
      } ms (best of 15)`,
    );
    console.log(`    steady: RSS peak ${(steadyPeakKb / 1024).toFixed(1)} MB: ${peakParts}`);
    console.log(`    threads: ${threadNames(demarc.pid)}`);
    return { idle, loaded, steadyPeakKb, cpu, seriesPerSec: series / best, series };
  } finally {
    await demarc.close();
  }
}

const figures = new Map<string, RunFigures[]>(variants.map((v) => [v.name, []]));
try {
  await cli.send();
  await cli.next();
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < variants.length; j++) {
      const v = variants[(r + j) % variants.length];
      console.log(`round ${r + 1}, ${v.name} (${describe(v)}):`);
      figures.get(v.name)!.push(await run(v));
    }
  }
} finally {
  await cli.kill();
  await srv.kill();
  await net.close();
}

const range = (xs: number[], f: (x: number) => string) =>
  xs.length > 1 ? `${f(Math.min(...xs))}–${f(Math.max(...xs))}` : f(xs[0]);
console.log(
  `demarc with 10,000 tracked connections (200 flows), report_period 5, ${rounds} interleaved ` +
    `rounds, ${windowSecs}s CPU window each (ranges over rounds):`,
);
for (const v of variants) {
  const fs = figures.get(v.name)!;
  const rss = fs.map((f) => f.steadyPeakKb / 1024);
  const burst = fs.map((f) => f.loaded.rssKb / 1024);
  const own = fs.map((f) => f.loaded.privateAnonKb / 1024);
  const cpu = fs.map((f) => f.cpu * 100);
  const sps = fs.map((f) => f.seriesPerSec);
  console.log(`  ${v.name} (${describe(v)}):`);
  console.log(
    `    idle RSS ${range(fs.map((f) => f.idle.rssKb / 1024), (x) => x.toFixed(1))} MB; ` +
      `steady RSS peak ${range(rss, (x) => x.toFixed(1))} MB (target <= 80: ${
        Math.max(...rss) <= 80 ? "ok" : "OVER"
      }); after 15 back-to-back scrapes ${range(burst, (x) => x.toFixed(1))} MB, of it anonymous ${
        range(own, (x) => x.toFixed(1))
      } MB`,
  );
  console.log(
    `    CPU ${range(cpu, (x) => x.toFixed(2))}% of a core (target <= 2%: ${
      Math.max(...cpu) <= 2 ? "ok" : "OVER"
    }); /metrics ${range(sps, (x) => x.toFixed(0))} series/s (target >= 500,000: ${
      Math.min(...sps) >= 500_000 ? "ok" : "BELOW"
    })`,
  );
}
