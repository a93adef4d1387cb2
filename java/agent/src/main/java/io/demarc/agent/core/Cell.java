package io.demarc.agent.core;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one row, cumulative since the row was created. Writers only add; the flusher
 * reads and subtracts what it reported last time, so no count is lost at a period boundary.
 *
 * <p>A call costs few atomic adds (each is a locked instruction, contended when threads share
 * the row): which byte counts were known is one add into one of three counters, and the eviction
 * gate is the counters themselves: {@link #REQUESTS} is a call's first add (entering the row) and
 * its latency bucket its last (leaving it), so "requests == sum of buckets" means no writer is
 * inside.
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

  /** Written into REQUESTS by {@link #close}: negative, so a writer arriving afterwards sees it. */
  private static final long CLOSED = Long.MIN_VALUE / 2;

  final long[] bounds;
  final AtomicLongArray counts;
  /** Owned by the flusher thread only. */
  final long[] reported;
  int idlePeriods;
  /** The requests count frozen by {@link #close} (flusher thread only). */
  private long requestsAtClose = -1;

  Cell(long[] bounds) {
    this.bounds = bounds;
    this.counts = new AtomicLongArray(BUCKETS + bounds.length + 1);
    this.reported = new long[counts.length()];
  }

  /** Adds one call; false (nothing added) when the row was closed for eviction: look it up again. */
  boolean add(long durationNs, boolean responded, String statusClass, long bytesSent, long bytesReceived) {
    if (counts.getAndIncrement(REQUESTS) < 0) return false;
    if (responded) counts.incrementAndGet(RESPONSES);
    if (statusClass == StatusClass.CLIENT_ERROR) counts.incrementAndGet(CLIENT_ERRORS);
    else if (statusClass == StatusClass.SERVER_ERROR) counts.incrementAndGet(SERVER_ERRORS);
    counts.addAndGet(LATENCY_SUM, durationNs);
    if (bytesSent >= 0) counts.addAndGet(BYTES_SENT, bytesSent);
    if (bytesReceived >= 0) counts.addAndGet(BYTES_RECEIVED, bytesReceived);
    if (bytesSent >= 0) counts.incrementAndGet(bytesReceived >= 0 ? BOTH_KNOWN : SENT_ONLY_KNOWN);
    else if (bytesReceived >= 0) counts.incrementAndGet(RECEIVED_ONLY_KNOWN);
    counts.incrementAndGet(BUCKETS + bucket(bounds, durationNs)); // last: the call has left the row
    return true;
  }

  /**
   * Closes an idle row for eviction, only if no writer is inside (so no count can be lost): the
   * buckets, read first, have grown as far as the requests, and the requests have not moved since.
   * A writer entering later finds the row closed and takes a fresh one.
   */
  boolean close() {
    long left = 0;
    for (int i = BUCKETS; i < counts.length(); i++) left += counts.get(i);
    if (!counts.compareAndSet(REQUESTS, left, CLOSED)) return false;
    requestsAtClose = left;
    return true;
  }

  /** Whether any call in delta {@code d} knew its bytes sent. */
  static boolean sentKnown(long[] d) {
    return d[BOTH_KNOWN] + d[SENT_ONLY_KNOWN] > 0;
  }

  static boolean receivedKnown(long[] d) {
    return d[BOTH_KNOWN] + d[RECEIVED_ONLY_KNOWN] > 0;
  }

  /** Index of the first bound >= value, or bounds.length for +Inf (Prometheus "le" buckets). */
  static int bucket(long[] bounds, long value) {
    int i = Arrays.binarySearch(bounds, value);
    return i >= 0 ? i : -i - 1;
  }

  /** Counts added since the last call; null when nothing happened. */
  long[] takeDelta() {
    long[] d = new long[reported.length];
    boolean any = false;
    for (int i = 0; i < d.length; i++) {
      long now = i == REQUESTS && requestsAtClose >= 0 ? requestsAtClose : counts.get(i);
      d[i] = now - reported[i];
      reported[i] = now;
      any |= d[i] != 0;
    }
    return any ? d : null;
  }
}
