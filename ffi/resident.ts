/**
 * Resident pages the process holds without needing them: the pages of its executable and
 * shared libraries that start-up touched once (the deno binary's relocation table, the TypeScript
 * transpiler and module loader, V8's start-up snapshot) count in its RSS for as long as it runs,
 * though nothing reads them again. With the TCP probe at 10,000 connections they were ~40 MB of
 * its RSS, most of them never used after start.
 *
 * @module
 */

import { lastErrno, libc } from "./libc.ts";

/** `MADV_DONTNEED`. */
const MADV_DONTNEED = 4;

/** A mapping of /proc/self/smaps as far as {@link dropCleanFilePages} needs. */
interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  path: string;
  rssKb: number;
  /** Pages of a private file mapping copied on write (relocated data): no file holds them. */
  anonKb: number;
}

/** The mappings of `/proc/<pid>/smaps`, with their resident and anonymous kB. */
export function smapsMappings(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const l of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (head) {
      out.push({
        start: BigInt(`0x${head[1]}`),
        end: BigInt(`0x${head[2]}`),
        perms: head[3],
        path: head[4],
        rssKb: 0,
        anonKb: 0,
      });
      continue;
    }
    const m = /^(Rss|Anonymous):\s+(\d+) kB/.exec(l);
    if (m && out.length) out[out.length - 1][m[1] === "Rss" ? "rssKb" : "anonKb"] = Number(m[2]);
  }
  return out;
}

/**
 * Unmap from this process the resident pages of read-only file mappings that hold no copied
 * page (executable code, read-only data of the executable and shared libraries): the page
 * tables let go of them, the page cache keeps them, and what is used again comes back on its
 * next access by a minor fault (the same bytes: the file is what they were read from). Writable
 * mappings and ones with pages copied on write (relocated read-only data after RELRO) are left
 * alone: dropping those would lose what was written.
 *
 * @returns the kB that were resident in the mappings dropped
 */
export function dropCleanFilePages(): number {
  let kb = 0;
  for (const m of smapsMappings(Deno.readTextFileSync("/proc/self/smaps"))) {
    if (!m.path.startsWith("/") || m.perms[1] !== "-" || m.anonKb || !m.rssKb) continue;
    const p = Deno.UnsafePointer.create(m.start);
    if (libc().madvise(p, m.end - m.start, MADV_DONTNEED) !== 0) {
      throw new Error(
        `madvise(MADV_DONTNEED) of ${m.path} at 0x${
          m.start.toString(16)
        } failed: errno ${lastErrno()}`,
      );
    }
    kb += m.rssKb;
  }
  return kb;
}

/** Resident file-backed kB of this process (`/proc/self/statm` shared pages: cheap to read). */
export function residentFileKb(): number {
  const shared = Number(Deno.readTextFileSync("/proc/self/statm").split(" ")[2]);
  return shared * (PAGE_KB ??= Number(libc().sysconf(SC_PAGESIZE)) / 1024);
}
let PAGE_KB: number | undefined;
const SC_PAGESIZE = 30;

/**
 * Calls {@link dropCleanFilePages} when the file pages resident grew by `slackKb` over what the
 * process's steady work keeps resident: once after start, and again after a one-off burst of
 * code (a probe's start, an adoption scan). The steady level is taken one {@link tick} after a
 * drop, by when the code in regular use has come back; a tick costs one read of statm, a drop
 * 5-15 ms (mostly reading smaps).
 */
export class FilePageTrimmer {
  readonly #slackKb: number;
  /** File kB one tick after the last drop; undefined right after a drop, or before the first. */
  #steadyKb: number | undefined;
  #dropped = false;

  constructor(slackKb = 2048) {
    this.#slackKb = slackKb;
  }

  /** Drop if the file pages grew since the steady level; returns the kB dropped (0 if none). */
  tick(): number {
    const kb = residentFileKb();
    if (this.#dropped && this.#steadyKb === undefined) {
      this.#steadyKb = kb;
      return 0;
    }
    if (this.#steadyKb !== undefined && kb <= this.#steadyKb + this.#slackKb) return 0;
    this.#dropped = true;
    this.#steadyKb = undefined;
    return dropCleanFilePages();
  }
}
