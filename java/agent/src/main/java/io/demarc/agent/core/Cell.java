package io.demarc.agent.core;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one row, cumulative since the row was created. Writers only add; the flusher
 * reads and subtracts what it reported last time, so no count is lost at a period boundary.
 *
 * <p>Each call costs few atomic adds (locked instructions), and threads sharing a row mostly add
 * into different stripes, each on its own cache lines (chosen by thread id), which the flusher
 * sums: one hot row does not bounce one cache line between cores. Which byte counts were known
 * is one add into one of three counters. The eviction gate is the counters themselves: in each
 * stripe, {@link #REQUESTS} is a call's first add (entering the row) and its latency bucket its
 * last (leaving it), so "requests == sum of buckets" means no writer is inside that stripe.
 */
final class Cell {
  static final int REQUESTS = 0;
  static final int RESPONSES = 1;
  static final int CLIENT_ERRORS = 2;
  static final int SERVER_ERRORS = 3;
  static final int LATENCY_SUM = 4;
  static final int BYTES_SENT = 5;
  static final int BYTES_RECEIVED = 6;
  // Calls whose byte counts were known (a row says -1 for a direction none of its calls knew):
  static final int BOTH_KNOWN = 7;
  static final int SENT_ONLY_KNOWN = 8;
  static final int RECEIVED_ONLY_KNOWN = 9;
  static final int BUCKETS = 10;

  /** Stripes per row: enough for the cores (twice, so that two busy threads rarely share one), at most 8. */
  static final int STRIPES = stripes(Runtime.getRuntime().availableProcessors());

  /** Written into a stripe's REQUESTS by {@link #close}: negative, so a writer arriving afterwards sees it. */
  private static final long CLOSED = Long.MIN_VALUE / 2;

  final long[] bounds;
  /** The stripes, {@link #stride} longs apart (at least a cache line of padding between two). */
  private final AtomicLongArray counts;
  private final int width;
  private final int stride;
  /** Owned by the flusher thread only. */
  private final long[] reported;
  int idlePeriods;
  /** Per stripe, the requests count frozen by {@link #close}, or -1 while open (flusher thread only). */
  private final long[] requestsAtClose = new long[STRIPES];

  Cell(long[] bounds) {
    this.bounds = bounds;
    this.width = BUCKETS + bounds.length + 1;
    this.stride = (width + 8 + 7) & ~7;
    this.counts = new AtomicLongArray(stride * STRIPES);
    this.reported = new long[width];
    Arrays.fill(requestsAtClose, -1);
  }

  static int stripes(int cores) {
    int n = Math.min(8, Math.max(1, cores * 2));
    return n == 1 ? 1 : Integer.highestOneBit(n - 1) << 1;
  }

  /**
   * Adds one call; false (nothing added) when the row is closed for eviction: the caller looks
   * it up again (the flusher removes a closed row, or reopens it at once when closing failed).
   */
  boolean add(long durationNs, boolean responded, String statusClass, long bytesSent, long bytesReceived) {
    int b = (int) (Thread.currentThread().getId() & (STRIPES - 1)) * stride;
    if (counts.getAndIncrement(b + REQUESTS) < 0) {
      counts.getAndDecrement(b + REQUESTS); // leaves the closed stripe as it found it (see reopen)
      return false;
    }
    if (responded) counts.incrementAndGet(b + RESPONSES);
    if (statusClass == StatusClass.CLIENT_ERROR) counts.incrementAndGet(b + CLIENT_ERRORS);
    else if (statusClass == StatusClass.SERVER_ERROR) counts.incrementAndGet(b + SERVER_ERRORS);
    counts.addAndGet(b + LATENCY_SUM, durationNs);
    if (bytesSent >= 0) counts.addAndGet(b + BYTES_SENT, bytesSent);
    if (bytesReceived >= 0) counts.addAndGet(b + BYTES_RECEIVED, bytesReceived);
    if (bytesSent >= 0) counts.incrementAndGet(b + (bytesReceived >= 0 ? BOTH_KNOWN : SENT_ONLY_KNOWN));
    else if (bytesReceived >= 0) counts.incrementAndGet(b + RECEIVED_ONLY_KNOWN);
    counts.incrementAndGet(b + BUCKETS + bucket(bounds, durationNs)); // last: the call has left the row
    return true;
  }

  /**
   * Closes an idle row for eviction, only if no writer is inside (so no count can be lost): in
   * every stripe, the buckets, read first, have grown as far as the requests, and the requests
   * have not moved since. A writer arriving later is turned away. When a stripe has a writer
   * inside, the stripes closed so far are reopened and the row stays.
   */
  boolean close() {
    for (int s = 0; s < STRIPES; s++) {
      int b = s * stride;
      long left = 0;
      for (int i = BUCKETS; i < width; i++) left += counts.get(b + i);
      if (!counts.compareAndSet(b + REQUESTS, left, CLOSED)) {
        for (int r = 0; r < s; r++) reopen(r);
        return false;
      }
      requestsAtClose[s] = left;
    }
    return true;
  }

  /** Writers turned away meanwhile each took their add back (or will), so this restores the count. */
  private void reopen(int s) {
    counts.getAndAdd(s * stride + REQUESTS, requestsAtClose[s] - CLOSED);
    requestsAtClose[s] = -1;
  }

  /** Index of the first bound >= value, or bounds.length for +Inf (Prometheus "le" buckets). */
  static int bucket(long[] bounds, long value) {
    int i = Arrays.binarySearch(bounds, value);
    return i >= 0 ? i : -i - 1;
  }

  /** Whether any call in delta {@code d} knew its bytes sent. */
  static boolean sentKnown(long[] d) {
    return d[BOTH_KNOWN] + d[SENT_ONLY_KNOWN] > 0;
  }

  static boolean receivedKnown(long[] d) {
    return d[BOTH_KNOWN] + d[RECEIVED_ONLY_KNOWN] > 0;
  }

  /** Counts added since the last call (stripes summed); null when nothing happened. */
  long[] takeDelta() {
    long[] d = new long[width];
    boolean any = false;
    for (int i = 0; i < width; i++) {
      long now = 0;
      for (int s = 0; s < STRIPES; s++) {
        now += i == REQUESTS && requestsAtClose[s] >= 0 ? requestsAtClose[s] : counts.get(s * stride + i);
      }
      d[i] = now - reported[i];
      reported[i] = now;
      any |= d[i] != 0;
    }
    return any ? d : null;
  }
}
