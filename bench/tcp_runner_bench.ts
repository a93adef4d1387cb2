/**
 * The demarc process itself with the TCP probe tracking 10,000 connections (5,000 client and
 * 5,000 server sockets, 200 flows) at report_period 5: CPU share of one core and RSS of the
 * process, and how fast GET /metrics renders. Targets: <= 2% of a core, <= 80 MB RSS,
 * >= 500,000 series per second.
 *
 * Run: deno run -A --unstable-kv bench/tcp_runner_bench.ts [seconds]
 */

import { startDemarc, waitFor } from "../tests/helpers/demarc.ts";
import { allSubprobes, buildDirFor, NetPair, sh, Traffic } from "../tests/probes/tcp/harness.ts";

const windowSecs = Number(Deno.args[0] ?? 30);
const ALL = await allSubprobes("tcp");

function cpuTicks(pid: number): number {
  const f = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (100 Hz)
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]) * 1024;
}

const buildDir = await Deno.makeTempDir({ prefix: "demarc-bench-build-" });
await Deno.mkdir(`${buildDir}/bpf`);
await Deno.copyFile(`${await buildDirFor("tcp")}/bpf/tcp.bpf.o`, `${buildDir}/bpf/tcp.bpf.o`);
const net = await NetPair.create();
// 20 client addresses x 25 server ports, connection i on address i % 20 and port i % 25: 100
// (address, port) pairs, so 100 client and 100 server flows.
const base = net.ipA.split(".").slice(0, 3).join(".");
const srcs = Array.from({ length: 20 }, (_, i) => `${base}.${100 + i}`);
for (const ip of srcs) await sh("ip", "-n", net.a, "addr", "add", `${ip}/32`, "dev", net.vethA);
await sh("ip", "-n", net.b, "route", "add", `${base}.0/24`, "dev", net.vethB);
const srv = await Traffic.spawn(net.b, ["server", "7001", "--ports", "25"], "dm-rb-srv");
const cli = await Traffic.spawn(net.a, [
  "client",
  net.ipB,
  "7001",
  "--conns",
  "5000",
  "--hold",
  "--ports",
  "25",
  "--src",
  srcs.join(","),
], "dm-rb-cli");
const demarc = await startDemarc({ buildDir, logLevel: "warn" });
try {
  await cli.send();
  await cli.next();
  // The same process before the probe runs, for comparison.
  const i0 = cpuTicks(demarc.pid), iw = performance.now();
  await new Promise((r) => setTimeout(r, Math.min(windowSecs, 10) * 1000));
  const idleCpu = (cpuTicks(demarc.pid) - i0) / 100 / ((performance.now() - iw) / 1000);
  const idleRss = rssBytes(demarc.pid);
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
      >("/tcp"))
        .status.driver?.details;
      return (d?.liveConnections ?? 0) >= 10000 && (d?.reports ?? 0) >= 2;
    },
    60_000,
    "10,000 connections reported twice",
  );
  const t0 = cpuTicks(demarc.pid), w0 = performance.now();
  await new Promise((r) => setTimeout(r, windowSecs * 1000));
  const cpu = (cpuTicks(demarc.pid) - t0) / 100 / ((performance.now() - w0) / 1000);
  const rss = rssBytes(demarc.pid);
  const times: number[] = [];
  let series = 0;
  for (let i = 0; i < 5; i++) {
    const s = performance.now();
    const text = await demarc.scrape();
    times.push(performance.now() - s);
    series = text.split("\n").filter((l) => l && !l.startsWith("#")).length;
  }
  const best = Math.min(...times) / 1000;
  const read = Number(
    /^demarc_tcp_probe_health_read_duration_seconds\{[^}]*\} (\S+)$/m.exec(await demarc.scrape())
      ?.[1] ?? NaN,
  );
  console.log(
    `demarc with 10,000 tracked connections (200 flows), report_period 5, over ${windowSecs}s:`,
  );
  console.log(
    `  before the probe: CPU ${(idleCpu * 100).toFixed(2)}% of a core, RSS ${
      (idleRss / 2 ** 20).toFixed(1)
    } MB; ` +
      `one full socket read (all namespaces) takes ${(read * 1000).toFixed(1)} ms`,
  );
  console.log(
    `  CPU  ${(cpu * 100).toFixed(2)}% of one core (target <= 2%): ${cpu <= 0.02 ? "ok" : "OVER"}`,
  );
  console.log(
    `  RSS  ${(rss / 2 ** 20).toFixed(1)} MB (target <= 80 MB): ${
      rss <= 80 * 2 ** 20 ? "ok" : "OVER"
    }`,
  );
  console.log(
    `  /metrics ${series} series in ${(best * 1000).toFixed(1)} ms (best of 5) = ${
      (series / best).toFixed(0)
    } series/s ` +
      `(target >= 500,000): ${series / best >= 500_000 ? "ok" : "BELOW"}`,
  );
} finally {
  await cli.kill();
  await srv.kill();
  await demarc.stop();
  await net.close();
}
