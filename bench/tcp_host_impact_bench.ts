/**
 * Host impact of the TCP probe, probe off vs on, measured side by side in one run. Targets: short
 * connections >= 95% of off, bulk throughput >= 98%, request/response >= 97%.
 *
 * On this shared 2-core machine the load's own rate drifts by up to 10x between minutes (other
 * processes come and go), so one off round against one on round says little. The bench runs
 * many short trials in pairs, one load kind at a time, the two trials of a pair back to back in
 * ABBA order (off on, on off, ...) so a slow drift cancels, and reports the median of the per-pair
 * ratios on/off with the middle half (25th–75th percentile) and the extremes. It raises its own
 * priority (and so the load's and the driver's, which inherit it) to nice -19 by default, so
 * unrelated processes take less of the CPUs during a trial.
 *
 * Rates measured by the load itself are what the targets name, but on a shared host they move with
 * whatever else runs. The bench also measures what each operation costs the host: the load (its
 * servers and clients) runs in a cgroup of its own, whose CPU time is read around each trial
 * (bench/cpu_cgroup.ts); the BPF programs run in the load's context and are charged to it, other
 * processes are not. The cost ratio off/on is the rate ratio a CPU-bound host would see, and it is
 * far steadier than the rates themselves.
 *
 * "off" means no BPF program of the probe is attached: the driver is stopped (detached and
 * closed). "on" means the real driver started with all sub-probes watching the load's processes,
 * so every tracepoint program runs and tracks the connections. The driver starts before an on
 * trial and stops after it, outside the timed part. Toggling only the pid map would leave every
 * program attached (running its filter on each event), so it would measure neither state.
 *
 * The programs' own run time comes from kernel.bpf_stats_enabled, whose clock reads around every
 * run (~0.3-0.5 us per connection) a production host does not pay: so it is on only in a separate
 * "stats" trial (this tree's driver, on) after each pair, whose figures give the "bpf" line and
 * stay out of every ratio.
 *
 * With `--idle`, each pair also runs an "idle" trial: the driver started and every program
 * attached, but watching no process, so each program runs only its filter. Its ratio to off is the
 * floor that attaching costs; on/idle is what tracking the connections adds.
 *
 * With `--alt JSON`, each pair also runs an "alt" trial: this tree's driver, on, with those params
 * merged into its config (e.g. `'{"read_changed_only":false}'`), in the same rotation, so a
 * setting's cost is compared with the default's pair by pair.
 *
 * With `--base REV`, each pair also runs an "on" trial with the driver (TypeScript) of revision
 * REV of this repository, on the same BPF object, in the same rotation (off, on, base / base, on,
 * off), and the driver's CPU per operation is compared, base against this tree, pair by pair.
 * With `--base-bpf` as well, the base trial loads REV's tcp.bpf.c (compiled now) instead of this
 * tree's object: the whole probe of REV against this tree's.
 *
 * Run: deno run -A --unstable-kv bench/tcp_host_impact_bench.ts [pairs] [--cpus 1] [--nice -19]
 *        [--kinds short,bulk,rr] [--base REV [--base-bpf]] [--idle] [--alt JSON]
 *   --cpus LIST  pin the load (clients and servers, every thread) to these CPUs with taskset
 *   --nice N     the priority of this process, its driver and the load (0: leave it)
 *   --kinds      the load kinds to run (default all three)
 *   --base REV   also run REV's driver (e.g. main, or the commit before a change)
 *   --short-ops N  connections per short trial (default 4000); more spreads what a trial costs
 *                the driver once (its timers, a GC of what starting it left) over more of them
 */

import { allSubprobes, configFor, startProbe } from "../tests/probes/tcp/harness.ts";
import process from "node:process";
import { enableRunStats } from "../ffi/libbpf.ts";
import type { DriverFactory, ProbeContext, ProbeDriver } from "../runner/probe_api.ts";
import { extractRevision } from "./base_revision.ts";
import { CpuGroup } from "./cpu_cgroup.ts";
import { compileBpf } from "../tests/ffi/build_fixture.ts";
import { Workload } from "./tcp_workload.ts";

const ALL = await allSubprobes("tcp");
const args = [...Deno.args];
const cpusAt = args.indexOf("--cpus");
const cpus = cpusAt >= 0 ? args.splice(cpusAt, 2)[1] : undefined;
const niceAt = args.indexOf("--nice");
const nice = niceAt >= 0 ? Number(args.splice(niceAt, 2)[1]) : -19;
const kindsAt = args.indexOf("--kinds");
const kindsArg = kindsAt >= 0 ? args.splice(kindsAt, 2)[1] : undefined;
const baseAt = args.indexOf("--base");
const baseRev = baseAt >= 0 ? args.splice(baseAt, 2)[1] : undefined;
const baseBpfAt = args.indexOf("--base-bpf");
const baseBpf = baseBpfAt >= 0 && args.splice(baseBpfAt, 1).length > 0;
const shortOpsAt = args.indexOf("--short-ops");
const shortOps = shortOpsAt >= 0 ? Number(args.splice(shortOpsAt, 2)[1]) : 4000;
const idleAt = args.indexOf("--idle");
const idle = idleAt >= 0 && args.splice(idleAt, 1).length > 0;
const altAt = args.indexOf("--alt");
const altParams = altAt >= 0 ? parseAlt(args.splice(altAt, 2)[1]) : undefined;
const pairs = Number(args[0] ?? 15);

/** `--alt`'s params: a JSON object of the tcp probe's params. */
function parseAlt(text: string | undefined): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text ?? "");
  } catch (e) {
    throw new Error(
      `--alt: ${text} is not JSON (${(e as Error).message}); e.g. '{"read_changed_only":false}'`,
    );
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new Error(`--alt: ${text} is not a JSON object of params`);
  }
  return v as Record<string, unknown>;
}

/** Renice every thread of this process; threads and children created later inherit it. */
async function reniceSelf(n: number): Promise<void> {
  for (const t of Deno.readDirSync("/proc/self/task")) {
    const r = await new Deno.Command("renice", {
      args: ["-n", String(n), "-p", t.name],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!r.success) {
      throw new Error(`renice -n ${n} -p ${t.name}: ${new TextDecoder().decode(r.stderr)}`);
    }
  }
}
if (nice) await reniceSelf(nice);

/** Pin every thread of `pid` to `cpus` (the load, so it does not migrate between trials). */
async function pin(pid: number): Promise<void> {
  if (!cpus) return;
  const r = await new Deno.Command("taskset", { args: ["-a", "-p", "-c", cpus, String(pid)] })
    .output();
  if (!r.success) {
    throw new Error(
      `taskset -a -p -c ${cpus} ${pid} failed: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
}

type Kind = "short" | "bulk" | "rr";
const ALL_KINDS: Kind[] = ["short", "bulk", "rr"];
const KINDS = kindsArg ? kindsArg.split(",") as Kind[] : ALL_KINDS;
for (const k of KINDS) {
  if (!ALL_KINDS.includes(k)) {
    throw new Error(`--kinds: unknown kind ${k} (${ALL_KINDS.join(",")})`);
  }
}
/**
 * The probe off, this tree's driver on, the base revision's driver on, this tree's driver attached
 * but watching nothing (idle), on with `--alt`'s params (alt), or on with the kernel's run-time
 * statistics (stats).
 */
type Mode = "off" | "on" | "base" | "idle" | "alt" | "stats";
const targets: Record<Kind, number> = { short: 0.95, bulk: 0.98, rr: 0.97 };
const units: Record<Kind, string> = { short: "conn/s", bulk: "Gbit/s", rr: "round trips/s" };

const tcpConfig = await configFor("tcp", ALL, { report_period: 5 });
const altConfig = altParams
  ? await configFor("tcp", ALL, { report_period: 5, ...altParams })
  : undefined;
/**
 * The base revision's driver factory, and a context to start it with: that of a harness whose
 * own driver (this tree's) is stopped at once, so both drivers publish into the same kind of
 * context built from the same manifest and meta files.
 */
let baseDriver: { factory: DriverFactory; ctx: ProbeContext; close(): Promise<void> } | undefined;
if (baseRev) {
  const dir = await extractRevision(baseRev, ["probes/tcp", "ffi", "runner"]);
  const factory = (await import(`${dir}/probes/tcp/tcp.ts`)).default as DriverFactory;
  // --base-bpf: REV's BPF object too (built here with this tree's compiler flags).
  let buildDir: string | undefined;
  if (baseBpf) {
    const obj = await compileBpf(`${dir}/probes/tcp/tcp.bpf.c`, [
      `${dir}/probes/tcp`,
      `${dir}/probes`,
    ]);
    buildDir = await Deno.makeTempDir({ prefix: "demarc-base-build-" });
    await Deno.mkdir(`${buildDir}/bpf`);
    await Deno.copyFile(obj, `${buildDir}/bpf/tcp.bpf.o`);
  }
  const h = await startProbe("tcp", tcpConfig, new Set());
  await h.driver.stop();
  baseDriver = {
    factory,
    ctx: { ...h.ctx, buildDir: buildDir ?? h.ctx.buildDir },
    close: () => h.close(),
  };
}

// The load starts after the base revision is ready: nothing of it is left if that fails.
const w = await Workload.start();
const load = CpuGroup.create(`dmc-host-impact-${Deno.pid}`);
for (const p of w.serverPids) {
  await pin(p);
  load.add(p);
}

/** CPU time of this process (every thread: the driver runs here), in ns: user and system. */
function selfCpuNs(): { user: number; system: number } {
  const u = process.cpuUsage();
  return { user: u.user * 1000, system: u.system * 1000 };
}

/** Start a driver watching `pids` (this tree's, or with `mode` "base" the base revision's). */
async function startDriver(mode: Mode, pids: Set<number>): Promise<ProbeDriver> {
  if (mode === "base") {
    const d = baseDriver!.factory(baseDriver!.ctx);
    await d.start(tcpConfig, pids);
    return d;
  }
  const config = mode === "alt" ? altConfig! : tcpConfig;
  return (await startProbe("tcp", config, pids)).driver;
}

/** Operations in one trial of each kind (bulk: bits moved in its 1 s). */
const OPS: Record<Kind, number> = { short: shortOps, bulk: 1, rr: 10000 };

/**
 * What one trial measured: the load's own rate, the load's CPU time per operation, and (probe on)
 * the run time per operation of the probe's tracepoint programs (kernel.bpf_stats_enabled; the
 * iterator reads run in the driver's context, not the load's, and are left out).
 */
interface Trial {
  rate: number;
  cpuNsPerOp: number;
  bpfNsPerOp: number;
  /** Per tracepoint program: runs and run time per operation (stats trials). */
  perProgram: Record<string, { runsPerOp: number; nsPerOp: number }>;
  /** This process's CPU time per operation: the driver (on), the bench's own bookkeeping (both). */
  selfNsPerOp: number;
  /** Of it, system time (the kernel's work in this process's threads). */
  selfSysNsPerOp: number;
}

/** One trial of one load kind; the probe on (watching the load) or off (not attached). */
async function trial(kind: Kind, mode: Mode): Promise<Trial> {
  const pids = new Set(mode === "idle" ? [] : w.serverPids);
  const driver = mode === "off" ? undefined : await startDriver(mode, pids);
  const runStats = mode === "stats" ? enableRunStats() : undefined;
  // The driver's CPU is counted from when it watches the trial's client: adopting a new
  // process's sockets (a walk of its namespace) is paid once per process, not per operation.
  let self0 = { user: 0, system: 0 };
  const watch = async (pid: number) => {
    load.add(pid);
    await pin(pid);
    if (mode !== "idle") pids.add(pid);
    await driver?.updatePids(new Set(pids));
    self0 = selfCpuNs();
  };
  try {
    const cpu0 = load.usageNs();
    const rate = kind === "short"
      ? await w.shortRate(OPS.short, watch)
      : kind === "bulk"
      ? await w.bulk(1, watch)
      : await w.rrRate(OPS.rr, watch);
    const ops = kind === "bulk" ? rate : OPS[kind];
    const cpuNsPerOp = (load.usageNs() - cpu0) / ops;
    const self1 = selfCpuNs();
    const selfSysNsPerOp = (self1.system - self0.system) / ops;
    const selfNsPerOp = (self1.user - self0.user) / ops + selfSysNsPerOp;
    const programs = (driver?.status?.().details?.programs ?? {}) as Record<
      string,
      { runs: number; nsPerRun: number }
    >;
    const tracepoints = Object.entries(programs).filter(([point]) => !point.startsWith("iter/"));
    const bpfNs = tracepoints.reduce((sum, [, p]) => sum + p.runs * p.nsPerRun, 0);
    const perProgram = Object.fromEntries(
      tracepoints.map(([point, p]) => [point, {
        runsPerOp: p.runs / ops,
        nsPerOp: p.runs * p.nsPerRun / ops,
      }]),
    );
    return { rate, cpuNsPerOp, bpfNsPerOp: bpfNs / ops, selfNsPerOp, selfSysNsPerOp, perProgram };
  } finally {
    runStats?.close();
    await driver?.stop();
  }
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q, lo = Math.floor(i), hi = Math.ceil(i);
  return s[lo] + (s[hi] - s[lo]) * (i - lo);
}

const results: Record<Mode, Record<Kind, Trial[]>> = {
  off: { short: [], bulk: [], rr: [] },
  on: { short: [], bulk: [], rr: [] },
  base: { short: [], bulk: [], rr: [] },
  idle: { short: [], bulk: [], rr: [] },
  alt: { short: [], bulk: [], rr: [] },
  stats: { short: [], bulk: [], rr: [] },
};
const { off, on } = results;
const modes: Mode[] = [
  "off",
  "on",
  ...(baseRev ? ["base" as const] : []),
  ...(idle ? ["idle" as const] : []),
  ...(altParams ? ["alt" as const] : []),
];
try {
  // Warm-up: first runs of the tools (and of each driver's code) are slower.
  for (const k of KINDS) for (const m of [...modes, "stats" as const]) await trial(k, m);
  for (let i = 0; i < pairs; i++) {
    for (const k of KINDS) {
      const order = i % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) results[mode][k].push(await trial(k, mode));
      results.stats[k].push(await trial(k, "stats"));
    }
  }
} finally {
  await w.close();
  load.remove();
  await baseDriver?.close();
}

const f = (x: number) => x.toFixed(3);
/** "median [25th–75th percentile] (min–max)" of per-pair ratios. */
function spread(ratios: number[]): string {
  return `${f(quantile(ratios, 0.5))} [${f(quantile(ratios, 0.25))}–${
    f(quantile(ratios, 0.75))
  }] (${f(Math.min(...ratios))}–${f(Math.max(...ratios))})`;
}

console.log(
  `TCP probe host impact: ${pairs} off/on pairs in ABBA order, ratios per pair as ` +
    `median [25th–75th percentile] (min–max); nice ${nice}${
      cpus ? `, load pinned to CPUs ${cpus}` : ""
    }. "rate" = on/off of the load's own rate; "cost" = off/on of the load's CPU time per ` +
    `operation (its cgroup), the rate ratio of a CPU-bound host; "bpf" = the probe's program ` +
    `time per operation and base/(base + it), base = the off CPU time per operation; "driver" = ` +
    `the CPU time the driver (in this process) adds per operation, and base/(base + bpf + driver), ` +
    `the rate ratio of a CPU-bound host running the driver too:`,
);
for (const k of KINDS) {
  const scale = k === "bulk" ? 1e-9 : 1, digits = k === "bulk" ? 2 : 0;
  const rates = off[k].map((o, i) => on[k][i].rate / o.rate);
  const costs = off[k].map((o, i) => o.cpuNsPerOp / on[k][i].cpuNsPerOp);
  const cost = quantile(costs, 0.5);
  const median = (ts: Trial[], key: Exclude<keyof Trial, "perProgram">) =>
    quantile(ts.map((t) => t[key]), 0.5);
  const perOp = k === "bulk" ? "ms per Gbit" : "us per op";
  const base = median(off[k], "cpuNsPerOp"), bpf = median(results.stats[k], "bpfNsPerOp");
  const driver = median(on[k], "selfNsPerOp") - median(off[k], "selfNsPerOp");
  const opScale = k === "bulk" ? 1e-6 * 1e9 : 1e-3;
  console.log(
    `  ${k.padEnd(5)} cost ${spread(costs)} target >= ${targets[k]}: ${
      cost >= targets[k] ? "ok" : "BELOW"
    }\n        rate ${spread(rates)}; off ${(median(off[k], "rate") * scale).toFixed(digits)}, on ${
      (median(on[k], "rate") * scale).toFixed(digits)
    } ${units[k]}; CPU off ${(median(off[k], "cpuNsPerOp") * opScale).toFixed(2)}, on ${
      (median(on[k], "cpuNsPerOp") * opScale).toFixed(2)
    } ${perOp} (medians)\n        bpf ${(bpf * opScale).toFixed(3)} ${perOp} (stats trials) -> ${
      f(base / (base + bpf))
    }; driver (this process, on - off) ${(driver * opScale).toFixed(3)} ${perOp}; both -> ${
      f(base / (base + bpf + driver))
    }`,
  );
  const points = [...new Set(results.stats[k].flatMap((t) => Object.keys(t.perProgram)))].sort();
  const perProgram = points.map((point) => {
    const of = (key: "runsPerOp" | "nsPerOp") =>
      quantile(results.stats[k].map((t) => t.perProgram[point]?.[key] ?? 0), 0.5);
    const runs = of("runsPerOp"), ns = of("nsPerOp");
    // Bulk's operation is one bit: its runs are given per Gbit.
    return `${point.replace(/^tp_btf\//, "")} ${(runs * (k === "bulk" ? 1e9 : 1)).toFixed(2)} x ${
      runs ? (ns / runs).toFixed(0) : "-"
    } ns`;
  });
  console.log(
    `        programs per ${k === "bulk" ? "Gbit" : "op"} (runs x mean ns, stats trials): ${
      perProgram.join(", ")
    }`,
  );
  const sys = median(on[k], "selfSysNsPerOp") - median(off[k], "selfSysNsPerOp");
  console.log(`        of the driver's, system time ${(sys * opScale).toFixed(3)} ${perOp}`);
  if (idle) {
    const i = results.idle[k];
    console.log(
      `        idle (attached, watching nothing): cost off/idle ${
        spread(off[k].map((o, j) => o.cpuNsPerOp / i[j].cpuNsPerOp))
      }, idle/on ${spread(i.map((t, j) => t.cpuNsPerOp / on[k][j].cpuNsPerOp))}; CPU ${
        (median(i, "cpuNsPerOp") * opScale).toFixed(2)
      } ${perOp}`,
    );
  }
  if (altParams) {
    const a = results.alt[k];
    console.log(
      `        alt ${JSON.stringify(altParams)}: cost off/alt ${
        spread(off[k].map((o, j) => o.cpuNsPerOp / a[j].cpuNsPerOp))
      }, rate alt/off ${spread(a.map((t, j) => t.rate / off[k][j].rate))}, cost on/alt ${
        spread(a.map((t, j) => on[k][j].cpuNsPerOp / t.cpuNsPerOp))
      }; CPU ${(median(a, "cpuNsPerOp") * opScale).toFixed(2)} ${perOp}; driver ${
        ((median(a, "selfNsPerOp") - median(off[k], "selfNsPerOp")) * opScale).toFixed(3)
      } ${perOp}`,
    );
  }
  if (baseRev) {
    const b = results.base[k];
    const old = median(b, "selfNsPerOp") - median(off[k], "selfNsPerOp");
    // Per pair: what each driver adds over the same pair's off trial.
    const perPair = off[k].map((o, i) =>
      (b[i].selfNsPerOp - o.selfNsPerOp) / (on[k][i].selfNsPerOp - o.selfNsPerOp)
    );
    console.log(
      `        driver of ${baseRev}: ${(old * opScale).toFixed(3)} ${perOp} -> ${
        f(base / (base + bpf + old))
      }; driver ${baseRev}/this per pair ${spread(perPair)}; cost off/${baseRev} ${
        spread(off[k].map((o, i) => o.cpuNsPerOp / b[i].cpuNsPerOp))
      }; cost ${baseRev}/this ${spread(b.map((t, i) => t.cpuNsPerOp / on[k][i].cpuNsPerOp))}`,
    );
  }
}
