/**
 * The kernel's set of watched tgids, kept in two maps of tcp.bpf.c (see `pid_slots` there):
 * `pids`, a hash of the runner's pids (PID_WATCHED) and of children added at fork whose slot was
 * taken (PID_FORKED), and `pid_slots`, tgid % (its size) → that tgid, 0 (none) or SHARED (look
 * in `pids`). The slots make the common checks one load in the kernel; keeping them right is
 * this module's job: a pid's slot is written after the pid is in `pids`, and slots are cleared
 * only followed by a scan of `pids` that sets again the slots of the pids still there (on_fork
 * inserts into `pids` before it marks a slot shared, so nothing it adds meanwhile is lost).
 *
 * @module
 */

import { BPF_NOEXIST, BpfError, type BpfMap } from "../../ffi/libbpf.ts";
import { u32, u64 } from "../../ffi/struct.ts";

/** How long a child added at fork stays watched without the runner watching it. */
export const FORK_GRACE_MS = 3000;

/** tcp.bpf.c PID_SLOT_SHARED. */
const SHARED = 0xffffffffn;

/** enum demarc_pid_source */
const PID_WATCHED = 1, PID_FORKED = 2;

/** `pids` and `pid_slots` of one loaded tcp.bpf.o. */
export class WatchedPids {
  readonly #pids: BpfMap;
  readonly #slots: BpfMap;
  /** tcp.bpf.c PID_SLOTS: the size of `pid_slots`, a power of two. */
  readonly slotCount: number;
  /** Children added at fork so far (the kernel's count), or undefined when not known. */
  readonly #forkCount: () => number | undefined;
  /** #forkCount at the last scan of the slots: unchanged, no slot can have a new child. */
  #scannedAt: number | undefined;
  /** The runner's pids (what the last {@link set} was given). */
  #runner = new Set<number>();
  /** Children added at fork that the runner has not watched: when first seen. */
  #forkedSeen = new Map<number, number>();

  constructor(pids: BpfMap, slots: BpfMap, forkCount: () => number | undefined = () => undefined) {
    this.#pids = pids;
    this.#slots = slots;
    this.slotCount = slots.maxEntries;
    this.#forkCount = forkCount;
  }

  /** Children added at fork that the runner does not watch (yet). */
  get forked(): number {
    return this.#forkedSeen.size;
  }

  /**
   * Make the watched set the runner's `pids` plus the children the kernel added at fork while
   * the runner may not have scanned them yet (see {@link pruneForked}). A pid the runner watches
   * is PID_WATCHED, even if first added at fork.
   */
  set(pids: ReadonlySet<number>): void {
    const freed = new Set<number>();
    for (const p of this.#runner) {
      if (pids.has(p)) continue;
      this.#pids.delete(u32(p));
      freed.add(p % this.slotCount);
    }
    const before = this.#runner;
    this.#runner = new Set(pids);
    const watched = new Uint8Array([PID_WATCHED]);
    for (const p of pids) {
      if (before.has(p)) continue;
      try {
        this.#pids.update(u32(p), watched);
      } catch (e) {
        if (!(e instanceof BpfError && e.code === "E2BIG")) throw e;
        // Full of children added at fork (a process forking thousands within the grace):
        // the runner's pids come first.
        this.pruneForked(performance.now(), true);
        this.#pids.update(u32(p), watched);
      }
      this.#claim(p);
    }
    this.#clear(freed);
    this.pruneForked();
  }

  /**
   * Remove children added at fork that the runner has not come to watch within
   * `FORK_GRACE_MS` of being seen here (its /proc scan runs every second): the runner's snooper
   * resolution decides, the fork only bridges the gap until its next scans. Called by set and on
   * every report.
   */
  pruneForked(now = performance.now(), all = false): void {
    /** Child → its slot, when the slot alone records it. */
    const forked = new Map<number, number | undefined>();
    for (const k of this.#pids.keys()) {
      const pid = new DataView(k.buffer, k.byteOffset).getUint32(0, true);
      if (!this.#runner.has(pid)) forked.set(pid, undefined);
    }
    // The slots (2,048 entries) are read only when the kernel added a child since the last
    // read, or children found then are still there (this runs on every report).
    const forks = this.#forkCount();
    const slotScan = forks === undefined || forks !== this.#scannedAt ||
      [...this.#forkedSeen.keys()].some((p) => !forked.has(p));
    this.#scannedAt = forks;
    for (const [k, v] of slotScan ? this.#slots.entries() : []) {
      const tgid = new DataView(v.buffer, v.byteOffset).getBigUint64(0, true);
      if (tgid === 0n || tgid === SHARED || this.#runner.has(Number(tgid))) continue;
      if (!forked.has(Number(tgid))) {
        forked.set(Number(tgid), new DataView(k.buffer, k.byteOffset).getUint32(0, true));
      }
    }
    const freed = new Set<number>();
    for (const [pid, slot] of forked) {
      const first = this.#forkedSeen.get(pid);
      if (first === undefined && !all) this.#forkedSeen.set(pid, now);
      else if (all || now - first! >= FORK_GRACE_MS) {
        this.#pids.delete(u32(pid));
        freed.add(slot ?? pid % this.slotCount);
        this.#forkedSeen.delete(pid);
      }
    }
    this.#clear(freed);
    for (const pid of this.#forkedSeen.keys()) if (!forked.has(pid)) this.#forkedSeen.delete(pid);
  }

  /** Clear `slots`, then set again the slots of the pids in `pids` that map to them. */
  #clear(slots: Set<number>): void {
    if (!slots.size) return;
    for (const s of slots) this.#slots.update(u32(s), u64(0n));
    for (const k of this.#pids.keys()) {
      const pid = new DataView(k.buffer, k.byteOffset).getUint32(0, true);
      if (slots.has(pid % this.slotCount)) this.#claim(pid);
    }
  }

  /**
   * Record `pid` (already in `pids`) in its slot: alone there, or mark the slot shared after
   * moving a child known by the slot alone into `pids`. Between the read and the write a fork
   * of a watched process could take the free slot for a child whose tgid is `pid` ± a multiple
   * of the slot count; that child would then go unwatched (until the runner watches it).
   */
  #claim(pid: number): void {
    const key = u32(pid % this.slotCount);
    const v = this.#slots.lookup(key);
    const held = v ? new DataView(v.buffer).getBigUint64(0, true) : 0n;
    if (held === BigInt(pid) || held === SHARED) return;
    if (held === 0n) {
      this.#slots.update(key, u64(BigInt(pid)));
      return;
    }
    try {
      this.#pids.update(u32(Number(held)), new Uint8Array([PID_FORKED]), BPF_NOEXIST);
    } catch (e) {
      // EEXIST: in `pids` already; E2BIG: full, that child is dropped as at a fork.
      if (!(e instanceof BpfError && (e.code === "EEXIST" || e.code === "E2BIG"))) throw e;
    }
    this.#slots.update(key, u64(SHARED));
  }
}
