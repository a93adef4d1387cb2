/**
 * The standard load for the TCP probe benchmarks, in a namespace pair: short connections, bulk
 * transfer (iperf3) and request/response round trips, each measured by the load itself, and a
 * transfer through 5% loss (retransmissions).
 *
 * @module
 */

import { NetPair, sh, Traffic } from "../tests/probes/tcp/harness.ts";

/** The port of the lossy transfer's sink. */
const LOSSY_PORT = 6301;

/** Servers for the load; `pids` are the processes a probe should watch. */
export class Workload {
  private constructor(
    readonly net: NetPair,
    readonly echo: Traffic,
    readonly iperf: Deno.ChildProcess,
    readonly sink: Traffic,
  ) {}

  /** Create the namespaces and start the servers. */
  static async start(): Promise<Workload> {
    const net = await NetPair.create();
    const echo = await Traffic.spawn(net.b, ["server", "6001", "--echo"], "dm-bench-srv");
    const iperf = new Deno.Command("ip", {
      args: ["netns", "exec", net.b, "iperf3", "-s", "-p", "6201"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const sink = await Traffic.spawn(net.b, ["server", String(LOSSY_PORT)], "dm-bench-sink");
    // 5% of the segments to the sink dropped on its input, in the namespace: retransmissions.
    await net.dropInput(net.b, "dmbench", LOSSY_PORT, 5);
    await new Promise((r) => setTimeout(r, 300));
    return new Workload(net, echo, iperf, sink);
  }

  /** Server pids (clients are added per run). */
  get serverPids(): number[] {
    return [this.echo.pid, this.iperf.pid, this.sink.pid];
  }

  /** `bytes` sent on one connection through 5% loss; retransmissions are the point. */
  async lossy(bytes: number, onPid?: (pid: number) => void | Promise<void>): Promise<void> {
    const c = await Traffic.spawn(this.net.a, [
      "client",
      this.net.ipB,
      String(LOSSY_PORT),
      "--bytes",
      String(bytes),
    ], "dm-bench-lossy");
    await onPid?.(c.pid);
    await c.send();
    await c.next();
    await c.kill();
  }

  /** `n` short connections, one after another; connections per second. */
  async shortRate(n: number, onPid?: (pid: number) => void | Promise<void>): Promise<number> {
    const c = await Traffic.spawn(this.net.a, [
      "client",
      this.net.ipB,
      "6001",
      "--conns",
      String(n),
    ], "dm-bench-short");
    await onPid?.(c.pid);
    const t0 = performance.now();
    await c.send();
    await c.next();
    const secs = (performance.now() - t0) / 1000;
    await c.kill();
    return n / secs;
  }

  /** Request/response round trips of 1 byte on one connection; round trips per second. */
  async rrRate(n: number, onPid?: (pid: number) => void | Promise<void>): Promise<number> {
    const c = await Traffic.spawn(
      this.net.a,
      ["client", this.net.ipB, "6001", "--rr", String(n)],
      "dm-bench-rr",
    );
    await onPid?.(c.pid);
    await c.send();
    const r = await c.next();
    await c.next();
    await c.kill();
    return Number(r.rr_per_s);
  }

  /** Bulk throughput for `secs` seconds with iperf3; bits per second. */
  async bulk(secs: number, onPid?: (pid: number) => void | Promise<void>): Promise<number> {
    const child = new Deno.Command("ip", {
      args: [
        "netns",
        "exec",
        this.net.a,
        "iperf3",
        "-c",
        this.net.ipB,
        "-p",
        "6201",
        "-t",
        String(secs),
        "-J",
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    await onPid?.(child.pid);
    const out = await child.output();
    const j = JSON.parse(new TextDecoder().decode(out.stdout));
    return j.end.sum_received.bits_per_second;
  }

  /** Stop the servers and delete the namespaces. */
  async close(): Promise<void> {
    await this.echo.kill();
    await this.sink.kill();
    try {
      this.iperf.kill("SIGKILL");
    } catch { /* gone */ }
    await this.iperf.status;
    await this.net.close();
  }
}

/** Median of a list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * 5,000 held connections (10,000 sockets) in a new namespace pair: 20 client addresses x 25 server
 * ports, connection i on address i % 20 and port i % 25, so 100 client and 100 server flows. The
 * client connects when told (`cli.send()`, then `cli.next()` once all are up); comms are
 * `<tag>-srv` and `<tag>-cli`.
 */
export async function heldConnections(
  tag: string,
): Promise<{ net: NetPair; srv: Traffic; cli: Traffic }> {
  const net = await NetPair.create();
  const base = net.ipA.split(".").slice(0, 3).join(".");
  const srcs = Array.from({ length: 20 }, (_, i) => `${base}.${100 + i}`);
  for (const ip of srcs) await sh("ip", "-n", net.a, "addr", "add", `${ip}/32`, "dev", net.vethA);
  await sh("ip", "-n", net.b, "route", "add", `${base}.0/24`, "dev", net.vethB);
  const srv = await Traffic.spawn(net.b, ["server", "7001", "--ports", "25"], `${tag}-srv`);
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
  ], `${tag}-cli`);
  return { net, srv, cli };
}
