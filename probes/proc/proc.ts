/**
 * The proc probe's driver: every report period, reads /proc for each watched process and for the
 * host, and publishes rows of the tables its enabled sub-probes fill.
 *
 * @module
 */

import type {
  DriverFactory,
  ProbeConfig,
  ProbeContext,
  ProbeDriver,
  Row,
} from "../../runner/probe_api.ts";
import {
  CLOCK_TICKS,
  CPU_MODES,
  parseHostStat,
  parseIo,
  parseKeyValues,
  parsePidStat,
} from "./procfs.ts";

function read(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined; // the process exited, or the file is not readable for this process
  }
}

function countFds(pid: number): number {
  let n = 0;
  try {
    for (const _ of Deno.readDirSync(`/proc/${pid}/fd`)) n++;
  } catch {
    return -1;
  }
  return n;
}

/** One row of the `proc` table, or undefined when the process is gone. */
export function readProcess(pid: number, bootTime: number): Row | undefined {
  const stat = read(`/proc/${pid}/stat`);
  const status = read(`/proc/${pid}/status`);
  if (!stat || !status) return undefined;
  const s = parsePidStat(stat);
  const st = parseKeyValues(status);
  const io = parseIo(read(`/proc/${pid}/io`) ?? "");
  const cmdline = (read(`/proc/${pid}/cmdline`) ?? "").replaceAll("\0", " ").trim().slice(0, 256);
  return {
    labels: { tgid: pid, comm: s.comm, cmdline },
    values: {
      cpu_user: s.utimeTicks / CLOCK_TICKS,
      cpu_system: s.stimeTicks / CLOCK_TICKS,
      rss: st.get("VmRSS") ?? 0,
      vsize: s.vsizeBytes,
      threads: st.get("Threads") ?? s.threads,
      open_fds: countFds(pid),
      read: io.get("read_bytes") ?? 0,
      write: io.get("write_bytes") ?? 0,
      rchar: io.get("rchar") ?? 0,
      wchar: io.get("wchar") ?? 0,
      start_time: bootTime + s.startTicks / CLOCK_TICKS,
    },
  };
}

class ProcDriver implements ProbeDriver {
  #config!: ProbeConfig;
  #pids: ReadonlySet<number> = new Set();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly ctx: ProbeContext) {}

  start(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void> {
    this.#pids = pids;
    this.#apply(config);
    return Promise.resolve();
  }

  reconfigure(config: ProbeConfig, pids: ReadonlySet<number>): Promise<void> {
    this.#pids = pids;
    this.#apply(config);
    return Promise.resolve();
  }

  updatePids(pids: ReadonlySet<number>): void {
    this.#pids = pids;
    // Publish at once so a new process shows without waiting a whole period.
    if (this.#config.probes.includes("proc")) this.#report();
  }

  stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    return Promise.resolve();
  }

  #apply(config: ProbeConfig): void {
    this.#config = config;
    clearInterval(this.#timer);
    this.#report();
    this.#timer = setInterval(() => this.#report(), Number(config.params.report_period) * 1000);
  }

  #report(): void {
    const on = new Set(this.#config.probes);
    const host = parseHostStat(read("/proc/stat") ?? "");
    const hostName = Deno.hostname();
    if (on.has("proc")) {
      const rows: Row[] = [];
      for (const pid of this.#pids) {
        const r = readProcess(pid, host.bootTime);
        if (r) rows.push(r);
      }
      this.ctx.emit("proc", rows);
    }
    if (on.has("cpu")) {
      this.ctx.emit(
        "host_cpu",
        CPU_MODES.map((mode) => ({ labels: { mode }, values: { time: host.cpu[mode] } })),
      );
      const load = (read("/proc/loadavg") ?? "0 0 0").split(" ").map(Number);
      this.ctx.emit("host_load", [{
        labels: { host: hostName },
        values: { load1: load[0], load5: load[1], load15: load[2], cpus: host.cpus },
      }]);
    }
    if (on.has("mem")) {
      const m = parseKeyValues(read("/proc/meminfo") ?? "");
      this.ctx.emit("host_mem", [{
        labels: { host: hostName },
        values: {
          total: m.get("MemTotal") ?? 0,
          available: m.get("MemAvailable") ?? 0,
          free: m.get("MemFree") ?? 0,
          cached: m.get("Cached") ?? 0,
          buffers: m.get("Buffers") ?? 0,
          swap_total: m.get("SwapTotal") ?? 0,
          swap_free: m.get("SwapFree") ?? 0,
        },
      }]);
    }
    if (on.has("host")) {
      const uptime = Number((read("/proc/uptime") ?? "0").split(" ")[0]);
      const os = /PRETTY_NAME="?([^"\n]*)/.exec(read("/etc/os-release") ?? "")?.[1] ?? "unknown";
      this.ctx.emit("host", [{
        labels: { host: hostName, kernel: Deno.osRelease(), os },
        values: { uptime, boot_time: host.bootTime },
      }]);
    }
  }
}

const createProcDriver: DriverFactory = (ctx) => new ProcDriver(ctx);
export default createProcDriver;
