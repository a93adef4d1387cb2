package io.demarc.agent.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one row, cumulative since the row was created. Writers only add; the flusher
 * reads and subtracts what it reported last time, so no count is lost at a period boundary.
 *
 * <p>The counters are striped, each stripe on its own cache lines and guarded by its own tiny
 * lock: a call takes one stripe's lock (one atomic instruction, the only one of the call; its
 * thread's own stripe, or the next free one), adds with plain writes and releases it, and the
 * flusher sums the stripes, each under its lock. So threads sharing a hot row mostly touch
 * different cache lines, and a call costs one locked instruction instead of one per counter.
 * The locks are also the eviction gate: closing a row locks every stripe for good, which only
 * succeeds while no writer holds one. A call never waits for a lock: when every stripe is held
 * (holders descheduled mid-add), it adds to shared atomic counters instead.
 */
final class Cell {
  static final int REQUESTS = 0;
  static final int RESPONSES = 1;
  static final int CLIENT_ERRORS = 2;
  static final int SERVER_ERRORS = 3;
  static final int LATENCY_SUM = 4;
  static final int BYTES_SENT = 5;
  static final int BYTES_RECEIVED = 6;
  static final int SENT_KNOWN = 7; // calls whose bytes sent were known: -1 in the row when none were
  static final int RECEIVED_KNOWN = 8;
  static final int BUCKETS = 9;

  /** Stripes per row: enough for the cores (twice, so that two busy threads rarely share one), at most 8. */
  static final int STRIPES = stripes(Runtime.getRuntime().availableProcessors());

  private static final long FREE = 0;
  private static final long HELD = 1;
  private static final long CLOSED = 2;
  /**
   * Atomic access to a stripe's lock, which is the first long of the stripe itself: a call's
   * lock and counters share cache lines (a separate lock array was two more objects to fetch per
   * call, cold in a JVM that shares its CPU).
   */
  private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

  final long[] bounds;
  /** The row this cell counts (the aggregator's map key; the overflow row's for that cell). */
  final RowKey key;
  /**
   * The stripes, {@link #stride} longs apart (at least a cache line of padding between two): each
   * its lock, then its {@link #width} counters.
   */
  private final long[] counts;
  /** Counts of calls that found every stripe held: see {@link #addShared}. */
  private final AtomicLongArray shared;
  /** Writers that entered and left the shared path: a writer is inside while they differ. */
  private final AtomicLong sharedEntered = new AtomicLong();
  private final AtomicLong sharedLeft = new AtomicLong();
  private final int width;
  private final int stride;
  /** Owned by the flusher thread only. */
  private final long[] reported;
  int idlePeriods;

  Cell(long[] bounds) {
    this(bounds, RowKey.OVERFLOW);
  }

  Cell(long[] bounds, RowKey key) {
    this.bounds = bounds;
    this.key = key;
    this.width = BUCKETS + bounds.length + 1;
    this.stride = (1 + width + 8 + 7) & ~7;
    this.counts = new long[stride * STRIPES];
    this.shared = new AtomicLongArray(width);
    this.reported = new long[width];
  }

  static int stripes(int cores) {
    int n = Math.min(8, Math.max(1, cores * 2));
    return n == 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
  }

  /**
   * Adds one call; false (nothing added) when the row is being closed for eviction: the caller
   * looks it up again (the flusher removes a closed row, or reopens it at once when closing failed).
   */
  boolean add(long durationNs, boolean responded, String statusClass, long bytesSent, long bytesReceived) {
    int home = (int) Thread.currentThread().getId();
    // Everything that calls out (and so could throw, even a StackOverflowError) happens before
    // the lock is taken: a stripe left locked would stall the flusher.
    int bucket = BUCKETS + bucket(bounds, durationNs);
    for (int tries = 0; tries < STRIPES; tries++) {
      int s = (home + tries) & (STRIPES - 1);
      int lock = s * stride;
      if (LONGS.compareAndSet(counts, lock, FREE, HELD)) {
        int b = lock + 1;
        counts[b + REQUESTS]++;
        if (responded) counts[b + RESPONSES]++;
        if (statusClass == StatusClass.CLIENT_ERROR) counts[b + CLIENT_ERRORS]++;
        else if (statusClass == StatusClass.SERVER_ERROR) counts[b + SERVER_ERRORS]++;
        counts[b + LATENCY_SUM] += durationNs;
        if (bytesSent >= 0) {
          counts[b + BYTES_SENT] += bytesSent;
          counts[b + SENT_KNOWN]++;
        }
        if (bytesReceived >= 0) {
          counts[b + BYTES_RECEIVED] += bytesReceived;
          counts[b + RECEIVED_KNOWN]++;
        }
        counts[b + bucket]++;
        LONGS.setRelease(counts, lock, FREE); // publishes the adds to the next holder
        return true;
      }
      if (lockState(lock) == CLOSED) return false;
    }
    // Every stripe held (their holders descheduled mid-add, or the flusher summing): never wait
    // for one, add to the shared counters instead, one atomic add per counter (rare, so cheap).
    return addShared(bucket, durationNs, responded, statusClass, bytesSent, bytesReceived);
  }

  /**
   * The fallback of {@link #add}: the row's shared atomic counters. Writers in here are counted so
   * that {@link #close} cannot succeed under one (it would lose the call): a writer announces
   * itself, then looks for the close mark on stripe 0 (which close takes first), while close marks
   * every stripe, then looks for writers; one of the two always sees the other (all of these are
   * volatile accesses, so sequentially consistent).
   */
  private boolean addShared(int bucket, long durationNs, boolean responded, String statusClass, long bytesSent,
      long bytesReceived) {
    sharedEntered.getAndIncrement();
    try {
      if (lockState(0) == CLOSED) return false;
      shared.getAndIncrement(REQUESTS);
      if (responded) shared.getAndIncrement(RESPONSES);
      if (statusClass == StatusClass.CLIENT_ERROR) shared.getAndIncrement(CLIENT_ERRORS);
      else if (statusClass == StatusClass.SERVER_ERROR) shared.getAndIncrement(SERVER_ERRORS);
      shared.getAndAdd(LATENCY_SUM, durationNs);
      if (bytesSent >= 0) {
        shared.getAndAdd(BYTES_SENT, bytesSent);
        shared.getAndIncrement(SENT_KNOWN);
      }
      if (bytesReceived >= 0) {
        shared.getAndAdd(BYTES_RECEIVED, bytesReceived);
        shared.getAndIncrement(RECEIVED_KNOWN);
      }
      shared.getAndIncrement(bucket);
      return true;
    } finally {
      sharedLeft.getAndIncrement();
    }
  }

  /**
   * Adds the shared counters to {@code now}, read while no writer is inside so that no call is
   * split over two periods: the flusher waits for writers there (their adds are short), never
   * the other way round.
   */
  private void sumShared(long[] now) {
    long[] snapshot = new long[width];
    for (int spins = 1; ; spins++) {
      long entered = sharedEntered.get();
      if (sharedLeft.get() == entered) {
        for (int i = 0; i < width; i++) snapshot[i] = shared.get(i);
        if (sharedEntered.get() == entered) break; // nobody entered meanwhile
      }
      if (spins % 64 == 0) Thread.yield();
      else Thread.onSpinWait();
    }
    for (int i = 0; i < width; i++) now[i] += snapshot[i];
  }

  /** Calls that found every stripe held and went to the shared counters (for tests and diagnostics). */
  long sharedAdds() {
    return shared.get(REQUESTS);
  }

  /**
   * Closes an idle row for eviction, only if no writer is inside (so no count can be lost): every
   * stripe's lock is taken for good; when one is held by a writer, the ones taken so far are let
   * go and the row stays. A writer arriving at a closed row is turned away.
   */
  boolean close() {
    for (int s = 0; s < STRIPES; s++) {
      if (!LONGS.compareAndSet(counts, s * stride, FREE, CLOSED)) {
        reopen(s);
        return false;
      }
    }
    // Entered first: a writer entering after that read sees the close mark (see addShared).
    if (sharedEntered.get() != sharedLeft.get()) { // one is adding to the shared counters
      reopen(STRIPES);
      return false;
    }
    return true;
  }

  /** Lets go of the first {@code n} stripes a failed close took. */
  private void reopen(int n) {
    for (int r = 0; r < n; r++) LONGS.setRelease(counts, r * stride, FREE);
  }

  /**
   * Index of the first bound >= value, or bounds.length for +Inf (Prometheus "le" buckets). A
   * scan from the lowest bound: histograms have few bounds and most calls fall in the low ones,
   * so this ends after a few well-predicted compares, where a binary search's are not.
   */
  static int bucket(long[] bounds, long value) {
    int i = 0;
    while (i < bounds.length && bounds[i] < value) i++;
    return i;
  }

  /**
   * The flusher's hold of stripe {@code s}, waiting for a writer inside it (a writer's add is
   * short, unless it was descheduled); false when the stripe is closed (the row is evicted).
   */
  boolean holdStripe(int s) {
    int lock = s * stride;
    for (int spins = 1; !LONGS.compareAndSet(counts, lock, FREE, HELD); spins++) {
      if (lockState(lock) == CLOSED) return false;
      if (spins % 64 == 0) Thread.yield();
      else Thread.onSpinWait();
    }
    return true;
  }

  /** A stripe lock's state (volatile read); {@code lock} is the lock's index in counts. */
  private long lockState(int lock) {
    return (long) LONGS.getVolatile(counts, lock);
  }

  void releaseStripe(int s) {
    LONGS.setRelease(counts, s * stride, FREE);
  }

  /** Counts added since the last call (stripes summed, each under its lock); null when nothing happened. */
  long[] takeDelta() {
    long[] now = new long[width];
    for (int s = 0; s < STRIPES; s++) {
      boolean closed = !holdStripe(s); // closed by this (the flusher's) thread: nobody writes any more
      int b = s * stride + 1;
      for (int i = 0; i < width; i++) now[i] += counts[b + i];
      if (!closed) releaseStripe(s);
    }
    if (sharedEntered.get() != 0) sumShared(now);
    boolean any = false;
    for (int i = 0; i < width; i++) {
      long d = now[i] - reported[i];
      reported[i] = now[i];
      now[i] = d;
      any |= d != 0;
    }
    return any ? now : null;
  }
}
