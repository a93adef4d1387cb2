package io.demarc.agent.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;

/**
 * Ended calls not yet added to their rows: a bounded queue any thread adds to, emptied in batches
 * by the agent's own sender thread (when callers ask, every {@link Recorder#DRAIN_BATCH} calls, and
 * before each report). Adding a call to its row touches the row's key, its cell, a stripe's lock, counters and
 * histogram bucket: in a JVM sharing its CPU with others these are cache misses, about 1 µs of the
 * application thread's time per call ({@code bench/jvm_cold_path.ts}). Queued, a call costs its
 * thread one new object, one claim and one slot; the sender then adds calls one after the other,
 * with the rows' lines warm from one call to the next. A full queue (more calls than the sender
 * empties, or the sender descheduled for long) turns the caller to the direct add: nothing is lost.
 *
 * <p>Producers claim an index by compare-and-set of the tail, then store the call in its slot (a
 * release store). The consumer takes slots in order, stops at one claimed but not yet stored (its
 * producer is between the two steps: the next drain takes it), nulls each slot it took and then
 * publishes its new head (release), so a producer that reads the head (acquire) finds every slot
 * below head + capacity free. Producers read the head only when their cached limit is reached.
 *
 * <p>A record over plain arrays: the JIT trusts a record's final fields, so for the instance in a
 * {@code static final} field the arrays' addresses are constants and a claim touches only the
 * tail's cache line and the slot's. Head and tail sit {@value #GAP} longs apart in one array, on
 * different cache lines: producers and the consumer do not write the same line.
 *
 * @param slots the calls, by index modulo their number (a power of two)
 * @param indexes the tail, the producers' limit and the head, at {@link #TAIL}, {@link #LIMIT}
 *     and {@link #HEAD}
 * @param consumer held while draining: one consumer at a time (the sender, a test, a reset)
 */
record CallQueue(Object[] slots, long[] indexes, Object consumer) {
  private static final int GAP = 16; // 128 bytes: two cache lines, against the adjacent-line prefetcher
  private static final int TAIL = GAP;
  private static final int LIMIT = GAP + 1;
  private static final int HEAD = 2 * GAP;

  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);
  private static final VarHandle INDEX = MethodHandles.arrayElementVarHandle(long[].class);

  /** A queue of {@code capacity} calls, rounded up to a power of two. */
  CallQueue(int capacity) {
    this(new Object[capacity <= 1 ? 1 : Integer.highestOneBit(capacity - 1) << 1], new long[3 * GAP], new Object());
    INDEX.setRelease(indexes, LIMIT, (long) slots.length);
  }

  int capacity() {
    return slots.length;
  }

  /**
   * Claims the next slot: its index, to be filled by {@link #store}, or -1 when the queue is full
   * (the caller adds its call itself). Claiming first spares a full queue's callers the object.
   */
  long claim() {
    long t = (long) INDEX.getVolatile(indexes, TAIL);
    for (;;) {
      if (t >= (long) INDEX.getVolatile(indexes, LIMIT)) {
        long limit = (long) INDEX.getAcquire(indexes, HEAD) + slots.length;
        if (t >= limit) return -1;
        // Racing producers may write an older limit after a newer one: then the next claim past
        // it reads the head again, nothing worse.
        INDEX.setRelease(indexes, LIMIT, limit);
      }
      long seen = (long) INDEX.compareAndExchange(indexes, TAIL, t, t + 1);
      if (seen == t) return t;
      t = seen;
    }
  }

  /** Fills the slot {@link #claim} returned (every claimed slot must be filled, or draining stops there). */
  void store(long index, Object call) {
    SLOT.setRelease(slots, (int) index & (slots.length - 1), call);
  }

  /** Queues {@code call}; false when the queue is full. */
  boolean offer(Object call) {
    long t = claim();
    if (t < 0) return false;
    store(t, call);
    return true;
  }

  /**
   * Hands every stored call to {@code sink}, oldest first, and frees its slot; returns how many.
   * A call whose sink throws is counted as an internal error and dropped, the rest go on.
   */
  @SuppressWarnings("unchecked")
  <T> int drain(Consumer<T> sink) {
    synchronized (consumer) {
      long head = (long) INDEX.getVolatile(indexes, HEAD);
      long tail = (long) INDEX.getAcquire(indexes, TAIL);
      int mask = slots.length - 1;
      int n = 0;
      for (; head < tail; head++, n++) {
        int i = (int) head & mask;
        Object call = (Object) SLOT.getAcquire(slots, i);
        if (call == null) break; // claimed, not stored yet: the next drain takes it
        SLOT.setOpaque(slots, i, (Object) null);
        try {
          sink.accept((T) call);
        } catch (Throwable e) {
          Recorder.internalError();
        }
      }
      INDEX.setRelease(indexes, HEAD, head);
      return n;
    }
  }

  /** Drops every stored call (at detach and reset: they hold the application's strings). */
  void clear() {
    drain(call -> {});
  }

  /** Calls stored and not yet drained (claimed ones included): for tests and the bench. */
  long size() {
    return (long) INDEX.getVolatile(indexes, TAIL) - (long) INDEX.getVolatile(indexes, HEAD);
  }
}
