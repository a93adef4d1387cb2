/**
 * The probe's own counters: kernel stats plus what user space knows, turned into monotonic
 * values. Evictions are derived: every entry was either deleted at close, is still in
 * the map, or was pushed out by the LRU.
 *
 * @module
 */

import type { STATS } from "./layout.ts";

type KernelStats = Record<(typeof STATS)[number], number>;

/** A snapshot of the health values. */
export interface Health {
  tracked: number;
  inserts: number;
  evictions: number;
  /** Ring-buffer records dropped: close records and late-reset records. */
  lost: number;
  /** Of those, close records: each is an entry deleted at close whose values never arrived. */
  lostCloses: number;
  insertFailures: number;
  filtered: number;
  noOwner: number;
  adopted: number;
}

/** Accumulates kernel counters into health values. */
export class HealthCounters {
  /** Closes received: records from the ring buffer, and connections folded in the kernel. */
  closedRecords = 0;
  /** Of those, connections folded in the kernel (no record each). */
  foldedCloses = 0;
  /** Duration of the last full read. */
  readSeconds = 0;
  /** Reads with read_changed_only whose count did not add up, so repeated in full. */
  fullRereads = 0;
  #last: Health = {
    tracked: 0,
    inserts: 0,
    evictions: 0,
    lost: 0,
    lostCloses: 0,
    insertFailures: 0,
    filtered: 0,
    noOwner: 0,
    adopted: 0,
  };

  /**
   * Fold in kernel stats read before (`s`) and after (`after`) counting the map (`tracked`).
   * Inserts from before and deletes from after make the eviction figure a lower bound of the
   * truth while connections churn, and exact once they settle; it never overshoots.
   */
  update(s: KernelStats, tracked: number, after: KernelStats): Health {
    const evicted = s.inserts + s.adopted - after.deletes - tracked;
    this.#last = {
      tracked,
      inserts: s.inserts + s.adopted,
      evictions: Math.max(this.#last.evictions, evicted),
      lost: after.ringbuf_lost + after.ringbuf_lost_resets,
      lostCloses: after.ringbuf_lost,
      insertFailures: after.insert_failures,
      filtered: after.filtered,
      noOwner: after.no_owner,
      adopted: s.adopted,
    };
    return this.#last;
  }

  /** The last values computed, plus the close records received. */
  snapshot(): Health & { closedRecords: number; foldedCloses: number; fullRereads: number } {
    return {
      ...this.#last,
      closedRecords: this.closedRecords,
      foldedCloses: this.foldedCloses,
      fullRereads: this.fullRereads,
    };
  }
}
