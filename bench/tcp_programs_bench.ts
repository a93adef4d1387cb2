/**
 * Cost per run of each TCP probe program under the standard load (kernel.bpf_stats_enabled):
 * short connections + bulk + request/response, a transfer through 5% loss (retransmissions), 2,000
 * forks of a watched process and 2,000 of an unwatched one, the periodic read per socket with
 * 2,000 open connections (six reads: two list them, the others count them as unchanged with
 * read_changed_only), and two adoptions (iter/tcp), each of a process watched after it opened its
 * connections: 20 of them while an unwatched process holds 2,000 others (the walk passes every
 * socket of the watched namespaces; most are not asked for), then 2,000 (each one an insert).
 * Targets: every tracepoint program <= 250 ns mean, iter/tcp <= 70 ns per socket (see `target`
 * below for what a run of each is). The tracepoints are host-wide: other processes' traffic runs
 * them too, so absolute means move between runs on a shared host (bench/tcp_ab_bench.ts compares
 * builds side by side).
 *
 * Run: deno run -A --unstable-kv bench/tcp_programs_bench.ts [--max-connections N]
 *   --max-connections: the probe's `max_connections` (the `conns` map's size; default the
 *   manifest's): a smaller map has fewer hash buckets to miss
 */

import { enableRunStats } from "../ffi/libbpf.ts";
import { allSubprobes, configFor, startProbe, Traffic } from "../tests/probes/tcp/harness.ts";
import { Workload } from "./tcp_workload.ts";

const ALL = await allSubprobes("tcp");
const maxAt = Deno.args.indexOf("--max-connections");
const maxConnections = maxAt >= 0 ? { max_connections: Number(Deno.args[maxAt + 1]) } : {};

async function measure(owner: string, readChangedOnly: boolean): Promise<ProgramStats> {
  const w = await Workload.start();
  const pids = new Set(w.serverPids);
  const h = await startProbe(
    "tcp",
    await configFor("tcp", ALL, {
      report_period: 1,
      server_owner: owner,
      read_changed_only: readChangedOnly,
      ...maxConnections,
    }),
    pids,
  );
  const stats = enableRunStats();
  const watch = async (pid: number) => {
    pids.add(pid);
    await h.driver.updatePids(new Set(pids));
  };
  try {
    await w.shortRate(3000, watch);
    await w.bulk(3, watch);
    await w.rrRate(20000, watch);
    await w.lossy(32_000_000, watch); // a few hundred retransmissions: a stable mean
    // Forks of a watched process (tp_btf/sched_process_fork adds each child to `pids`).
    const forker = new Deno.Command("python3", {
      args: [
        "-c",
        "import os,time\ntime.sleep(0.3)\nfor _ in range(2000): os.waitpid(os.fork() or os._exit(0), 0)",
      ],
    }).spawn();
    await watch(forker.pid);
    await forker.status;
    // The common case on a host: a process nobody watches forks (the lookup that says so).
    await new Deno.Command("python3", {
      args: ["-c", "import os\nfor _ in range(2000): os.waitpid(os.fork() or os._exit(0), 0)"],
    }).output();
    const held = await Traffic.spawn(w.net.a, [
      "client",
      w.net.ipB,
      "6001",
      "--conns",
      "2000",
      "--hold",
    ]);
    await watch(held.pid);
    await held.send();
    await held.next();
    // Six reads of 4,000+ sockets: with read_changed_only the first two list every held socket
    // (just set up), the others count them as unchanged (the request/response is over).
    await new Promise((r) => setTimeout(r, 6500));
    const out = programs(h); // the standard load's figures: before the closes that follow
    await held.kill();
    // Adoption (iter/tcp, once per newly watched process with connections): processes watched
    // after they connected. The walk passes every socket of the watched namespaces.
    const holding = async (conns: number) => {
      const t = await Traffic.spawn(w.net.a, [
        "client",
        w.net.ipB,
        "6001",
        "--conns",
        String(conns),
        "--hold",
      ]);
      await t.send();
      await t.next();
      return t;
    };
    const adoptions = async (pid: number, expect: number) => {
      const before = programs(h)["iter/tcp"] ?? { runs: 0, nsPerRun: 0 };
      const adoptedBefore = adopted(h);
      await watch(pid);
      for (let i = 0; i < 100 && adopted(h) - adoptedBefore < expect; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const after = programs(h)["iter/tcp"] ?? { runs: 0, nsPerRun: 0 };
      const runs = after.runs - before.runs;
      return {
        runs,
        nsPerRun: runs ? (after.runs * after.nsPerRun - before.runs * before.nsPerRun) / runs : 0,
        adopted: adopted(h) - adoptedBefore,
      };
    };
    // The common case: a few connections among many the walk is not asked for (an unwatched
    // process's 2,000 and the tracked server ends).
    const bystander = await holding(2000);
    const few = await holding(20);
    const fewWalk = await adoptions(few.pid, 20);
    await few.kill();
    await bystander.kill();
    // Every connection of the namespace asked for: the cost of an insert each.
    const many = await holding(2000);
    const manyWalk = await adoptions(many.pid, 2000);
    await many.kill();
    if (out["iter/tcp"]) {
      out["iter/tcp, probe start"] = out["iter/tcp"];
      delete out["iter/tcp"];
    }
    out["iter/tcp, 20 adopted"] = fewWalk;
    out["iter/tcp, 2,000 adopted"] = manyWalk;
    return out;
  } finally {
    stats.close();
    await h.close();
    await w.close();
  }
}

type ProgramStats = Record<string, { runs: number; nsPerRun: number; adopted?: number }>;

/** The driver's programs' run counts and mean ns per run so far. */
function programs(h: Awaited<ReturnType<typeof startProbe>>): ProgramStats {
  return structuredClone(h.driver.status!().details!.programs as ProgramStats);
}

/** Connections the kernel side adopted so far (the driver's health, updated each report). */
function adopted(h: Awaited<ReturnType<typeof startProbe>>): number {
  return Number(h.driver.status!().details!.adopted ?? 0);
}

/**
 * What a run of each program is, and its target: a tracepoint program's run is one event (<= 250
 * ns); iter/tcp's is one socket of the host (<= 70 ns; it runs only while adopting the sockets
 * that existed before the probe started). iter/bpf_map_elem (the periodic read, read_slots) runs
 * once per chunk of 128 `elems` slots (SLOT_CHUNK in tcp.bpf.c), used or not, so its mean per run is no per-socket
 * figure: bench/tcp_ab_bench.ts measures the read per tracked socket, changed and unchanged.
 */
function target(name: string): { unit: string; ns?: number } {
  if (name === "iter/bpf_map_elem") return { unit: "per chunk of 128 slots, no target" };
  if (name.startsWith("iter/")) return { unit: "per socket", ns: 70 };
  return { unit: "per event", ns: 250 };
}

for (
  const [owner, changedOnly] of [["sendmsg", true], ["sendmsg", false], ["accept", true]] as const
) {
  const progs = await measure(owner, changedOnly);
  console.log(`\nserver_owner=${owner} read_changed_only=${changedOnly}: mean ns per run`);
  for (const [name, p] of Object.entries(progs).sort()) {
    const t = target(name);
    const verdict = t.ns === undefined
      ? t.unit
      : `${p.nsPerRun <= t.ns ? "ok" : "OVER"} (${
        (p.nsPerRun / t.ns).toFixed(2)
      } of ${t.ns} ns ${t.unit})`;
    const extra = p.adopted === undefined ? "" : `  (${p.adopted} adopted)`;
    console.log(
      `  ${name.padEnd(36)} ${p.nsPerRun.toFixed(0).padStart(6)} ns  x${
        String(p.runs).padStart(9)
      }  ${verdict}${extra}`,
    );
  }
}

// Attaching any syscall tracepoint (server_owner=accept) slows every syscall on the host.
async function syscallNs(): Promise<number> {
  const out = await new Deno.Command("python3", {
    args: [
      "-c",
      "import os,time\nt=time.perf_counter()\nfor _ in range(2000000): os.getppid()\nprint((time.perf_counter()-t)/2e6*1e9)",
    ],
    stdout: "piped",
  }).output();
  return Number(new TextDecoder().decode(out.stdout));
}
const w = await Workload.start();
const results: Record<string, number[]> = { off: [], sendmsg: [], accept: [] };
for (let round = 0; round < 3; round++) {
  results.off.push(await syscallNs());
  for (const owner of ["sendmsg", "accept"]) {
    const h = await startProbe(
      "tcp",
      await configFor("tcp", ["tcp_stats"], { server_owner: owner }),
      new Set(w.serverPids),
    );
    results[owner].push(await syscallNs());
    await h.close();
  }
}
await w.close();
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
console.log(
  `\nsyscall cost (python os.getppid loop, median of 3): off ${med(results.off).toFixed(1)} ns, ` +
    `server_owner=sendmsg ${med(results.sendmsg).toFixed(1)} ns (${
      (med(results.sendmsg) / med(results.off)).toFixed(3)
    }x), ` +
    `server_owner=accept ${med(results.accept).toFixed(1)} ns (${
      (med(results.accept) / med(results.off)).toFixed(3)
    }x)`,
);
