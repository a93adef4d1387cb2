/**
 * Parsers for the /proc files the proc probe reads. Pure functions over file text.
 *
 * @module
 */

/** USER_HZ: the unit of /proc/<pid>/stat times; 100 on every Linux ABI the kernel exports. */
export const CLOCK_TICKS = 100;

export interface PidStat {
  comm: string;
  utimeTicks: number;
  stimeTicks: number;
  threads: number;
  startTicks: number;
  vsizeBytes: number;
}

/** Parse /proc/<pid>/stat; `comm` may contain spaces and parentheses, so split at the last ')'. */
export function parsePidStat(text: string): PidStat {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state): field n is rest[n - 3].
  return {
    comm: text.slice(open + 1, close),
    utimeTicks: Number(rest[11]),
    stimeTicks: Number(rest[12]),
    threads: Number(rest[17]),
    startTicks: Number(rest[19]),
    vsizeBytes: Number(rest[20]),
  };
}

/** Parse `Key: value [kB]` files (/proc/<pid>/status, /proc/meminfo) into bytes where kB. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([\w()]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (m) out.set(m[1], Number(m[2]) * (m[3] ? 1024 : 1));
  }
  return out;
}

/** Parse /proc/<pid>/io (`key: value` lines). */
export function parseIo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [k, v] = line.split(":");
    if (v !== undefined) out.set(k.trim(), Number(v));
  }
  return out;
}

export const CPU_MODES = [
  "user",
  "nice",
  "system",
  "idle",
  "iowait",
  "irq",
  "softirq",
  "steal",
] as const;

export interface HostStat {
  /** Seconds per mode, summed over CPUs. */
  cpu: Record<typeof CPU_MODES[number], number>;
  cpus: number;
  bootTime: number;
}

/** Parse /proc/stat. */
export function parseHostStat(text: string): HostStat {
  const cpu = Object.fromEntries(CPU_MODES.map((m) => [m, 0])) as HostStat["cpu"];
  let cpus = 0;
  let bootTime = 0;
  for (const line of text.split("\n")) {
    const f = line.split(/\s+/);
    if (f[0] === "cpu") CPU_MODES.forEach((m, i) => cpu[m] = Number(f[i + 1] ?? 0) / CLOCK_TICKS);
    else if (/^cpu\d+$/.test(f[0])) cpus++;
    else if (f[0] === "btime") bootTime = Number(f[1]);
  }
  return { cpu, cpus, bootTime };
}
