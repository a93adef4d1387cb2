/**
 * Resolving snoopers and blacklists to pids from /proc.
 *
 * @module
 */

import type { ProcessSelector } from "./probe_api.ts";
import { selectorIsEmpty } from "./config.ts";

/** What the matcher needs to know of one process. */
export interface ProcessInfo {
  pid: number;
  comm: string;
  /** NUL separators read as spaces. */
  cmdline: string;
  /** Contents of /proc/<pid>/cgroup (for container and pod ids); read lazily. */
  cgroup: () => string;
}

/** Read the processes of the host (pid namespace of the runner); kernel threads skipped. */
export function listProcesses(procRoot = "/proc"): ProcessInfo[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync(procRoot)) {
    if (/^\d+$/.test(e.name)) pids.push(Number(e.name));
  }
  return readProcesses(pids, procRoot);
}

/** Read the given processes; those gone (or kernel threads) are left out. */
export function readProcesses(pids: Iterable<number>, procRoot = "/proc"): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const pid of pids) {
    const base = `${procRoot}/${pid}`;
    try {
      const cmdline = Deno.readTextFileSync(`${base}/cmdline`).replaceAll("\0", " ").trim();
      if (!cmdline) continue; // kernel thread or zombie
      const comm = Deno.readTextFileSync(`${base}/comm`).trim();
      let cg: string | undefined;
      out.push({
        pid,
        comm,
        cmdline,
        cgroup: () => (cg ??= safeRead(`${base}/cgroup`)),
      });
    } catch {
      // the process exited while we read it
    }
  }
  return out;
}

function safeRead(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Does `p` match any entry of the selector? */
export function matches(
  sel: ProcessSelector,
  p: ProcessInfo,
  regexCache: Map<string, RegExp>,
): boolean {
  if (sel.proc_id.includes(p.pid)) return true;
  for (const n of sel.proc_name) {
    let ok = true;
    if (n.comm !== undefined) {
      let re = regexCache.get(n.comm);
      if (!re) regexCache.set(n.comm, re = new RegExp(n.comm));
      ok = re.test(p.comm);
    }
    if (ok && n.cmdline !== undefined) ok = p.cmdline.includes(n.cmdline);
    if (ok) return true;
  }
  if (sel.container_id.length || sel.pod_id.length) {
    const cg = p.cgroup();
    if (sel.container_id.some((id) => cg.includes(id))) return true;
    // Kubelet writes pod UIDs with '-' in cgroupfs paths and '_' in systemd slice names.
    if (sel.pod_id.some((id) => cg.includes(id) || cg.includes(id.replaceAll("-", "_")))) {
      return true;
    }
  }
  return false;
}

/**
 * The pids a probe watches: those matching `snoopers`, or when no snooper is set, every process
 * not matching `blacklist`. The runner itself is watched only when a snooper names it.
 */
export function selectPids(
  procs: ProcessInfo[],
  snoopers: ProcessSelector,
  blacklist: ProcessSelector,
  regexCache: Map<string, RegExp> = new Map(),
): Set<number> {
  const all = selectorIsEmpty(snoopers);
  const out = new Set<number>();
  for (const p of procs) {
    if (all && p.pid === Deno.pid) continue;
    if (all ? !matches(blacklist, p, regexCache) : matches(snoopers, p, regexCache)) out.add(p.pid);
  }
  return out;
}

export function sameSet(a: ReadonlySet<number>, b: ReadonlySet<number>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
