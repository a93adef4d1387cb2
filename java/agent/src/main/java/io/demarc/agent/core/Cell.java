package io.demarc.agent.core;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one row, cumulative since the row was created. Writers only add; the flusher
 * reads and subtracts what it reported last time, so no count is lost at a period boundary.
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

  final long[] bounds;
  final AtomicLongArray counts;
  /** Owned by the flusher thread only. */
  final long[] reported;
  int idlePeriods;
  /** Writers inside add(); Integer.MIN_VALUE (negative) once the flusher closed the row. */
  private final java.util.concurrent.atomic.AtomicInteger gate = new java.util.concurrent.atomic.AtomicInteger();

  Cell(long[] bounds) {
    this.bounds = bounds;
    this.counts = new AtomicLongArray(BUCKETS + bounds.length + 1);
    this.reported = new long[counts.length()];
  }

  void add(long durationNs, boolean responded, String statusClass, long bytesSent, long bytesReceived) {
    counts.incrementAndGet(REQUESTS);
    if (responded) counts.incrementAndGet(RESPONSES);
    if (statusClass == StatusClass.CLIENT_ERROR) counts.incrementAndGet(CLIENT_ERRORS);
    else if (statusClass == StatusClass.SERVER_ERROR) counts.incrementAndGet(SERVER_ERRORS);
    counts.addAndGet(LATENCY_SUM, durationNs);
    if (bytesSent >= 0) {
      counts.addAndGet(BYTES_SENT, bytesSent);
      counts.incrementAndGet(SENT_KNOWN);
    }
    if (bytesReceived >= 0) {
      counts.addAndGet(BYTES_RECEIVED, bytesReceived);
      counts.incrementAndGet(RECEIVED_KNOWN);
    }
    counts.incrementAndGet(BUCKETS + bucket(bounds, durationNs));
  }

  /** False when the row was closed for eviction: the writer must look the row up again. */
  boolean tryEnter() {
    if (gate.incrementAndGet() > 0) return true;
    gate.decrementAndGet();
    return false;
  }

  void exit() {
    gate.decrementAndGet();
  }

  /** Closes an idle row for eviction, only if no writer is inside (so no count can be lost). */
  boolean close() {
    return gate.compareAndSet(0, Integer.MIN_VALUE);
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
      long now = counts.get(i);
      d[i] = now - reported[i];
      reported[i] = now;
      any |= d[i] != 0;
    }
    return any ? d : null;
  }
}
