package io.demarc.agent.core;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Start times of calls whose start and end are seen in different methods of an object the
 * agent cannot add a field to (retransformation forbids new fields). Bounded; entries of calls
 * that never end are swept after a while. Allocation-free per call.
 *
 * <p>A call's start goes to one of {@value #SLOTS} slots (its thread's own first, so a thread
 * that waits for its call, as gRPC's blocking stubs do, finds its slot free each time), and its
 * end finds it by comparing the slots' references: two small arrays, a few cache lines. The
 * {@link IdentityTable} behind them costs an identity hash (a call into the VM the first time an
 * object is hashed) and a segment's lock, arrays and monitor code, all cache misses in a JVM
 * that shares its CPU with others: measured by {@code ColdPathBench} with the caches emptied
 * before each call. A call only goes to the table when its start finds no free slot near its
 * thread's own (more calls in flight than slots, or long streams): then the slot's occupant
 * moves there.
 */
public final class InFlight {
  private static final int MAX = 100_000;
  static final long STALE_NS = 10L * 60 * 1_000_000_000L;
  static final int SLOTS = 64;
  /** How many slots from its thread's own a start tries before it moves an occupant out. */
  private static final int PROBES = 4;

  /** The calls in the slots (null: free); a slot is claimed and given up by compare-and-set. */
  private static final AtomicReferenceArray<Object> CALLS = new AtomicReferenceArray<>(SLOTS);
  /** A slot being filled: claimed, its start not yet written. */
  private static final Object CLAIMING = new Object();
  /**
   * The slots' start times: written between a slot's claim and the store of its call (see
   * {@link #fill}), read after a load that saw the call.
   */
  private static final long[] STARTS = new long[SLOTS];
  private static final IdentityTable SPILLED = new IdentityTable(MAX);
  /** Entries in {@link #SPILLED}: while 0, an end that missed the slots has nothing to look up. */
  private static final AtomicInteger SPILLED_COUNT = new AtomicInteger();
  /** Serializes moves of an occupant to the table (rare) against each other. */
  private static final Object SPILL_LOCK = new Object();

  private InFlight() {}

  /** Records the start of {@code call} (a call begun twice keeps one of the two). */
  public static void begin(Object call) {
    long t = Recorder.start();
    if (t == 0 || call == null) return;
    put(call, t);
  }

  /** As {@link #begin}, unless a start is already recorded for this call (that one stays). */
  public static void beginOnce(Object call) {
    long t = Recorder.start();
    if (t == 0 || call == null) return;
    if (slotOf(call) >= 0 || (SPILLED_COUNT.get() != 0 && SPILLED.contains(call))) return;
    put(call, t);
  }

  private static void put(Object call, long t) {
    int home = (int) Thread.currentThread().getId();
    for (int k = 0; k < PROBES; k++) {
      int i = (home + k) & (SLOTS - 1);
      if (CALLS.get(i) == null && CALLS.compareAndSet(i, null, CLAIMING)) {
        fill(i, call, t);
        return;
      }
    }
    spill(home & (SLOTS - 1), call, t);
  }

  /** A claimed slot gets its start, then its call: whoever sees the call sees its start. */
  private static void fill(int i, Object call, long t) {
    STARTS[i] = t;
    CALLS.set(i, call);
  }

  /** Every slot near home is taken: the home slot's occupant moves to the table, the call takes its place. */
  private static void spill(int i, Object call, long t) {
    synchronized (SPILL_LOCK) {
      for (;;) {
        Object occupant = CALLS.get(i);
        if (occupant == CLAIMING) { // another start is filling it: a moment
          Thread.onSpinWait();
          continue;
        }
        if (occupant == null) {
          if (CALLS.compareAndSet(i, null, CLAIMING)) {
            fill(i, call, t);
            return;
          }
          continue;
        }
        // Into the table first: an end that no longer finds the occupant in its slot finds it there.
        Object r = SPILLED.put(occupant, STARTS[i], null, false);
        if (r == IdentityTable.FULL) {
          Recorder.internalError(); // the table is full: this call goes unmeasured
          return;
        }
        boolean added = r == null; // else it was there already (begun twice)
        if (added) SPILLED_COUNT.incrementAndGet();
        if (CALLS.compareAndSet(i, occupant, CLAIMING)) {
          fill(i, call, t);
          return;
        }
        // The occupant ended meanwhile, taking its start from the slot: not in the table after all.
        if (added && SPILLED.removeNumber(occupant) != 0) SPILLED_COUNT.decrementAndGet();
      }
    }
  }

  /** The slot holding {@code call}, or -1. */
  private static int slotOf(Object call) {
    for (int i = 0; i < SLOTS; i++) {
      if (CALLS.get(i) == call) return i;
    }
    return -1;
  }

  /** The start recorded for this call (and forgets it), or 0. */
  public static long end(Object call) {
    if (call == null) return 0;
    int i = slotOf(call);
    if (i >= 0) {
      long start = STARTS[i];
      if (CALLS.compareAndSet(i, call, null)) return start;
      // Moved to the table at this instant (a call ends once, so nobody else took it).
    }
    if (SPILLED_COUNT.get() == 0) return 0;
    long start = SPILLED.removeNumber(call);
    if (start != 0) SPILLED_COUNT.decrementAndGet();
    return start;
  }

  public static void sweep() {
    sweep(System.nanoTime());
  }

  /** Forgets the calls begun more than the stale age before {@code now}. */
  static void sweep(long now) {
    for (int i = 0; i < SLOTS; i++) {
      Object call = CALLS.get(i);
      if (call != null && call != CLAIMING && now - STARTS[i] > STALE_NS) CALLS.compareAndSet(i, call, null);
    }
    int[] dropped = {0};
    SPILLED.removeIf((call, start, unused) -> {
      boolean stale = now - start > STALE_NS;
      if (stale) dropped[0]++;
      return stale;
    });
    if (dropped[0] != 0) SPILLED_COUNT.addAndGet(-dropped[0]);
  }

  public static void clear() {
    synchronized (SPILL_LOCK) {
      for (int i = 0; i < SLOTS; i++) CALLS.set(i, null);
      SPILLED.clear();
      SPILLED_COUNT.set(0);
    }
  }

  public static int size() {
    int n = SPILLED.size();
    for (int i = 0; i < SLOTS; i++) {
      Object call = CALLS.get(i);
      if (call != null && call != CLAIMING) n++;
    }
    return n;
  }
}
