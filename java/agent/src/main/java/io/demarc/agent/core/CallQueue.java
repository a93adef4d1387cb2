package io.demarc.agent.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Ended calls not yet added to their rows: a bounded queue any thread adds to, emptied in batches
 * by the agent's own sender thread (when callers ask, every {@link Recorder#DRAIN_BATCH} calls, and
 * before each report). Adding a call to its row touches the row's key, its cell, a stripe's lock,
 * counters and histogram bucket: in a JVM sharing its CPU with others these are cache misses,
 * about 1 µs of the application thread's time per call ({@code bench/jvm_cold_path.ts}). Queued, a
 * call costs its thread a claim and one slot's fields; the sender then adds calls one after the
 * other, with the rows' lines warm. A full queue turns the caller to the direct add: nothing is lost.
 *
 * <p>A call's fields are stored in place, in two arrays (its strings, {@value #TEXTS} to a slot, and
 * its numbers, {@value #NUMBERS} to a slot: a slot's numbers fill one cache line), not as an object
 * per call: an object would sit between the application's own allocations, a page of its own per
 * call in a busy JVM, and the sender would pay a TLB and cache miss for each; slots are read in
 * order. No allocation per call either.
 *
 * <p>Producers claim an index by compare-and-set of the tail, store the slot's fields and its
 * protocol last (a release store: the slot's mark). The consumer takes slots in order, stops at one
 * whose mark is not there yet (its producer is between the two steps: the next drain takes it),
 * clears each mark it took and then publishes its new head (release), so a producer that reads the
 * head (acquire) finds every slot below head + capacity free. Producers read the head only when
 * their cached limit is reached.
 *
 * <p>A record over plain arrays: the JIT trusts a record's final fields, so for the instance in a
 * {@code static final} field the arrays' addresses are constants. Head and tail sit {@value #GAP}
 * longs apart in one array, on different cache lines: producers and the consumer do not write the
 * same line.
 *
 * @param texts per slot: protocol (the mark: null while free or being filled), role, local ip,
 *     peer ip, service, method, status class, library
 * @param numbers per slot: duration ns, bytes sent, bytes received, local port, peer port (the row's:
 *     0 for the side that is ephemeral), flags; for a call sampled for a span, its end (nanoTime)
 *     and its status with the connection's own two ports
 * @param indexes the tail, the producers' limit and the head, at {@link #TAIL}, {@link #LIMIT}
 *     and {@link #HEAD}
 * @param consumer held while draining: one consumer at a time (the sender, a test, a reset)
 */
record CallQueue(Object[] texts, long[] numbers, long[] indexes, Object consumer) {
  private static final int TEXTS = 8;
  private static final int NUMBERS = 8;
  private static final long SSL = 1;
  private static final long RESPONDED = 2;
  private static final long SAMPLED = 4;
  private static final int GAP = 16; // 128 bytes: two cache lines, against the adjacent-line prefetcher
  private static final int TAIL = GAP;
  private static final int LIMIT = GAP + 1;
  private static final int HEAD = 2 * GAP;

  /**
   * A drain lets the application's threads have the CPU every this many calls: the thread that asks
   * for a drain wakes the sender, and the woken sender, asleep for seconds, preempts its waker at
   * once when they share a CPU. Drained in one go, the batch of {@value Recorder#DRAIN_BATCH} calls
   * was added to the latency of the call that asked: +160 µs on one CPU
   * ({@code bench/jvm_drain_interference.ts}, calls of 50 µs; 210 µs against 52 for the others),
   * and +27 µs with a yield every 64 calls (77 µs). A yield is a syscall, under 1 µs when nothing
   * else waits; when another thread does, it is a switch there and back, ~6 µs of the sender's CPU
   * ({@code bench/jvm_cold_path.ts}: the drain 89 against 31 ns a call, with the JIT's threads
   * waiting), up to ~90 ns a call drained. The rest of the drain runs when the application leaves
   * the CPU to it.
   */
  static final int YIELD_EVERY = 64;

  private static final VarHandle TEXT = MethodHandles.arrayElementVarHandle(Object[].class);
  private static final VarHandle INDEX = MethodHandles.arrayElementVarHandle(long[].class);

  /** A queue of {@code capacity} calls, rounded up to a power of two. */
  CallQueue(int capacity) {
    this(new Object[slotsFor(capacity) * TEXTS], new long[slotsFor(capacity) * NUMBERS], new long[3 * GAP],
        new Object());
    INDEX.setRelease(indexes, LIMIT, (long) capacity());
  }

  private static int slotsFor(int capacity) {
    return capacity <= 1 ? 1 : Integer.highestOneBit(capacity - 1) << 1;
  }

  int capacity() {
    return texts.length / TEXTS;
  }

  /**
   * Queues one ended call (the fields of {@link Aggregator#add(String, String, boolean, String, int,
   * String, int, String, String, String, String, long, boolean, long, long)}; {@code protocol} not
   * null), not sampled for a span. Returns the call's index in the queue (callers count batches by
   * it), or -1 when the queue is full and nothing was stored: the caller adds the call itself.
   */
  long offer(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp, int peerPort,
      String service, String method, String statusClass, String library, long durationNs, boolean responded,
      long bytesSent, long bytesReceived) {
    return offer(protocol, role, ssl, localIp, localPort, peerIp, peerPort, service, method, statusClass, library,
        durationNs, responded, bytesSent, bytesReceived, 0, 0, 0, 0);
  }

  /**
   * As above; a call sampled for a span ({@code spanEndNs}, its end's {@link System#nanoTime}, not
   * 0) also carries its status and the connection's own ports, and the drain hands its span to
   * {@link Spans#offer}: the application thread allocates nothing for it and touches no line
   * other than its slot's. Made on the call's thread, a span cost that call ~5 µs with cold caches
   * ({@code bench/jvm_cold_path.ts}: moved to the drain at a 1% ratio, the drain's mean per call
   * rose from 74-102 to 117-168 ns), in the sampled calls' latency, where a median never shows it.
   */
  long offer(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp, int peerPort,
      String service, String method, String statusClass, String library, long durationNs, boolean responded,
      long bytesSent, long bytesReceived, long spanEndNs, int status, int spanLocalPort, int spanPeerPort) {
    long t = claim();
    if (t >= 0) {
      fill(t, protocol, role, ssl, localIp, localPort, peerIp, peerPort, service, method, statusClass, library,
          durationNs, responded, bytesSent, bytesReceived, spanEndNs, status, spanLocalPort, spanPeerPort);
    }
    return t;
  }

  /** Stores a call into the slot {@link #claim} gave (each claimed slot must be filled, or draining stops there). */
  void fill(long t, String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp,
      int peerPort, String service, String method, String statusClass, String library, long durationNs,
      boolean responded, long bytesSent, long bytesReceived, long spanEndNs, int status, int spanLocalPort,
      int spanPeerPort) {
    int slot = (int) t & (capacity() - 1);
    int n = slot * NUMBERS;
    numbers[n] = durationNs;
    numbers[n + 1] = bytesSent;
    numbers[n + 2] = bytesReceived;
    numbers[n + 3] = localPort;
    numbers[n + 4] = peerPort;
    numbers[n + 5] = (ssl ? SSL : 0) | (responded ? RESPONDED : 0) | (spanEndNs != 0 ? SAMPLED : 0);
    if (spanEndNs != 0) {
      numbers[n + 6] = spanEndNs;
      numbers[n + 7] = (status & 0xffff_ffffL) | (long) (spanLocalPort & 0xffff) << 32
          | (long) (spanPeerPort & 0xffff) << 48;
    }
    int s = slot * TEXTS;
    texts[s + 1] = role;
    texts[s + 2] = localIp;
    texts[s + 3] = peerIp;
    texts[s + 4] = service;
    texts[s + 5] = method;
    texts[s + 6] = statusClass;
    texts[s + 7] = library;
    TEXT.setRelease(texts, s, (Object) protocol); // the mark, last: whoever sees it sees the rest
  }

  /** The next slot's index, or -1 when the queue is full. */
  long claim() {
    long t = (long) INDEX.getVolatile(indexes, TAIL);
    for (;;) {
      if (t >= (long) INDEX.getVolatile(indexes, LIMIT)) {
        long limit = (long) INDEX.getAcquire(indexes, HEAD) + capacity();
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

  /**
   * Adds every stored call to {@code aggregator} (null: drops them, spans too), oldest first, hands
   * each sampled call's span to {@code spans} (null: none), and frees its slot; returns how many. A
   * call whose add throws is counted as an internal error, the rest go on.
   */
  int drain(Aggregator aggregator, Spans spans) {
    synchronized (consumer) {
      long head = (long) INDEX.getVolatile(indexes, HEAD);
      long tail = (long) INDEX.getAcquire(indexes, TAIL);
      int mask = capacity() - 1;
      int taken = 0;
      // A span's start on the wall clock: its end's distance from now, taken once per drain.
      long wallNs = 0, nanoNow = 0;
      for (; head < tail; head++, taken++) {
        int slot = (int) head & mask;
        int s = slot * TEXTS;
        String protocol = (String) TEXT.getAcquire(texts, s);
        if (protocol == null) break; // claimed, not stored yet: the next drain takes it
        int n = slot * NUMBERS;
        try {
          if (aggregator != null) {
            long flags = numbers[n + 5];
            aggregator.add(protocol, (String) texts[s + 1], (flags & SSL) != 0, (String) texts[s + 2],
                (int) numbers[n + 3], (String) texts[s + 3], (int) numbers[n + 4], (String) texts[s + 4],
                (String) texts[s + 5], (String) texts[s + 6], (String) texts[s + 7], numbers[n],
                (flags & RESPONDED) != 0, numbers[n + 1], numbers[n + 2]);
            if ((flags & SAMPLED) != 0 && spans != null) {
              if (wallNs == 0) {
                wallNs = System.currentTimeMillis() * 1_000_000L;
                nanoNow = System.nanoTime();
              }
              long span = numbers[n + 7];
              RowKey row = new RowKey(protocol, (String) texts[s + 1], (flags & SSL) != 0, (String) texts[s + 2],
                  (int) numbers[n + 3], (String) texts[s + 3], (int) numbers[n + 4], (String) texts[s + 4],
                  (String) texts[s + 5], (String) texts[s + 6], (String) texts[s + 7]);
              spans.offer(row, (int) (span >>> 32) & 0xffff, (int) (span >>> 48) & 0xffff, (int) span,
                  wallNs - (nanoNow - numbers[n + 6]) - numbers[n], numbers[n], null);
            }
          }
        } catch (Throwable e) {
          Recorder.internalError(e);
        }
        TEXT.setOpaque(texts, s, (Object) null);
        if (aggregator != null && (taken & (YIELD_EVERY - 1)) == YIELD_EVERY - 1) {
          INDEX.setRelease(indexes, HEAD, head + 1); // the slots taken so far are free
          Thread.yield();
        }
      }
      INDEX.setRelease(indexes, HEAD, head);
      return taken;
    }
  }

  /** {@link #drain(Aggregator, Spans)} without spans. */
  int drain(Aggregator aggregator) {
    return drain(aggregator, null);
  }

  /**
   * Drops every stored call (at detach and reset). Free slots keep their last strings until reused:
   * labels (names, addresses, routes), never an application object that could pin its class loader.
   */
  void clear() {
    drain(null);
  }

  /** Calls stored and not yet drained (claimed ones included): for tests and the bench. */
  long size() {
    return (long) INDEX.getVolatile(indexes, TAIL) - (long) INDEX.getVolatile(indexes, HEAD);
  }
}
