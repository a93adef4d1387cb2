/**
 * Cost per run of each TCP probe program under the standard load (kernel.bpf_stats_enabled):
 * short connections + bulk + request/response, a transfer through 5% loss (retransmissions), 2,000
 * forks of a watched process and 2,000 of an unwatched one, and the periodic
 * read per socket with 2,000 open connections (six reads: two list them, the others count them
 * as unchanged with read_changed_only). Targets: every tracepoint program <= 250 ns mean, iter/tcp
 * <= 70 ns per socket (see `target` below for what a run of each is). The tracepoints are host-wide: other processes' traffic runs them too, so absolute
 * means move between runs on a shared host (bench/tcp_ab_bench.ts compares builds side by side).
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

async function measure(
  owner: string,
  readChangedOnly: boolean,
): Promise<Record<string, { runs: number; nsPerRun: number }>> {
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
    const out = h.driver.status!().details!.programs as Record<
      string,
      { runs: number; nsPerRun: number }
    >;
    await held.kill();
    return out;
  } finally {
    stats.close();
    await h.close();
    await w.close();
  }
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
    console.log(
      `  ${name.padEnd(32)} ${p.nsPerRun.toFixed(0).padStart(6)} ns  x${
        String(p.runs).padStart(9)
      }  ${verdict}`,
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
