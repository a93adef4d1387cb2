package io.demarc.agent.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * HTTP client calls whose response head is in while the application still reads the body. The
 * call is recorded when the library reports the body consumed or the response closed
 * ({@link #end}), whichever comes first. A call whose body is never read nor closed is recorded
 * by {@link #sweep} (each report period) once it has waited {@code demarc.agent.bodyTimeoutMs}
 * (default 30 s), with its latency ending at the response head. Bounded: past {@link #MAX}
 * waiting calls a new one is recorded at once (as at its head). Keys are library objects (the
 * connection, call or exchange runtime of one call), compared by identity.
 *
 * <p>A waiting call's fields are stored in place, in one of {@value #SLOTS} slots (its thread's
 * own first, as {@link CallSlots} places keys): no object per call. A slot is claimed by
 * compare-and-set of its key (null to {@link #CLAIMING}), filled, then given its key (a volatile
 * store); whoever takes a call reads its fields first and then frees the slot by compare-and-set
 * of the key to null, so of two threads taking one call (its end and the sweep) one records it.
 * A call that finds no free slot near its thread's own waits as an object in a {@link CallSlots}
 * behind them (more calls waiting than slots).
 */
public final class BodyWait {
  static final int MAX = 65_536;
  private static final long DEFAULT_TIMEOUT_MS = 30_000;
  static final int SLOTS = 64;
  /** Slots from a thread's own an await tries before its call waits in {@link #OVERFLOW}. */
  private static final int PROBES = 4;
  /** A slot being filled or read: claimed, its fields not all written. */
  private static final Object CLAIMING = new Object();
  private static final VarHandle KEYS = MethodHandles.arrayElementVarHandle(Object[].class);
  /** Per slot: peer ip, host, method, library. */
  private static final int TEXTS = 4;
  /** Per slot: start, head time, bytes sent, bytes received, status, peer port | ssl. */
  private static final int NUMBERS = 6;
  private static final long SSL = 1L << 32;

  private static final Object[] KEY = new Object[SLOTS];
  private static final Object[] TEXT = new Object[SLOTS * TEXTS];
  private static final long[] NUMBER = new long[SLOTS * NUMBERS];
  /** Calls that found no free slot, as objects; each entry's number is its head time, for the sweep. */
  private static final CallSlots OVERFLOW = new CallSlots(MAX);

  private BodyWait() {}

  /** One HTTP client call waiting for its body (the row's fields, known at the head). */
  private record Call(boolean ssl, String peerIp, int peerPort, String host, String method, int status, long start,
      long headAt, long bytesSent, long bytesReceived, String library) {
    void record(long endNs) {
      BodyWait.record(ssl, peerIp, peerPort, host, method, status, start, endNs, bytesSent, bytesReceived, library);
    }
  }

  private static void record(boolean ssl, String peerIp, int peerPort, String host, String method, int status,
      long start, long endNs, long bytesSent, long bytesReceived, String library) {
    try {
      Recorder.recordUntil("http", "client", ssl, "", 0, peerIp, peerPort, host, method, status,
          StatusClass.http(status), status > 0, start, endNs, bytesSent, bytesReceived, library, null);
    } catch (Throwable t) {
      // counted by Recorder (or the debug switch); never into the application nor the sender
    }
  }

  private static Object key(int i) {
    return (Object) KEYS.getVolatile(KEY, i);
  }

  private static boolean swap(int i, Object expected, Object key) {
    return KEYS.compareAndSet(KEY, i, expected, key);
  }

  /**
   * The response head of the call keyed by {@code key} is in (status &gt; 0): record it when its
   * body ends. Calls without a start (agent not measuring) are ignored.
   */
  public static void await(Object key, boolean ssl, String peerIp, int peerPort, String host, String method,
      int status, long start, long bytesSent, long bytesReceived, String library) {
    if (start == 0 || key == null) return;
    long headAt = System.nanoTime();
    // The key reused before its body ended (a retry on the same exchange): the older call ends
    // at this head.
    take(key, headAt);
    park(key, ssl, peerIp, peerPort, host, method, status, start, headAt, bytesSent, bytesReceived, library);
  }

  /**
   * {@link #await} for a key that waits at most once: a call object the library executes once
   * (OkHttp's), so no older call can wait under it and the look for one is skipped.
   */
  public static void awaitOnce(Object key, boolean ssl, String peerIp, int peerPort, String host, String method,
      int status, long start, long bytesSent, long bytesReceived, String library) {
    if (start == 0 || key == null) return;
    park(key, ssl, peerIp, peerPort, host, method, status, start, System.nanoTime(), bytesSent, bytesReceived,
        library);
  }

  private static void park(Object key, boolean ssl, String peerIp, int peerPort, String host, String method,
      int status, long start, long headAt, long bytesSent, long bytesReceived, String library) {
    int home = (int) Thread.currentThread().getId();
    for (int k = 0; k < PROBES; k++) {
      int i = (home + k) & (SLOTS - 1);
      if (key(i) == null && swap(i, null, CLAIMING)) {
        int t = i * TEXTS, n = i * NUMBERS;
        TEXT[t] = peerIp;
        TEXT[t + 1] = host;
        TEXT[t + 2] = method;
        TEXT[t + 3] = library;
        NUMBER[n] = start;
        NUMBER[n + 1] = headAt;
        NUMBER[n + 2] = bytesSent;
        NUMBER[n + 3] = bytesReceived;
        NUMBER[n + 4] = status;
        NUMBER[n + 5] = (peerPort & 0xffffffffL) | (ssl ? SSL : 0);
        KEYS.setVolatile(KEY, i, key);
        return;
      }
    }
    Call c = new Call(ssl, peerIp, peerPort, host, method, status, start, headAt, bytesSent, bytesReceived,
        library);
    if (OVERFLOW.add(key, headAt, c) == IdentityTable.FULL) c.record(0);
  }

  /**
   * Records the call waiting under {@code key}, its latency ending at {@code endNs} (0: now), if
   * one waits; returns whether one did.
   */
  private static boolean take(Object key, long endNs) {
    // From this thread's own slot on: the thread that parked a call is the one that ends it for
    // a synchronous client, and finds it in the first slot it reads.
    int home = (int) Thread.currentThread().getId();
    for (int k = 0; k < SLOTS; k++) {
      int i = (home + k) & (SLOTS - 1);
      if (key(i) != key) continue;
      int t = i * TEXTS, n = i * NUMBERS;
      String peerIp = (String) TEXT[t], host = (String) TEXT[t + 1], method = (String) TEXT[t + 2],
          library = (String) TEXT[t + 3];
      long start = NUMBER[n], sent = NUMBER[n + 2], received = NUMBER[n + 3], status = NUMBER[n + 4],
          portSsl = NUMBER[n + 5];
      if (!swap(i, key, null)) break; // taken by another thread at this instant
      record((portSsl & SSL) != 0, peerIp, (int) portSsl, host, method, (int) status, start, endNs, sent,
          received, library);
      return true;
    }
    Object c = OVERFLOW.removeValue(key);
    if (c == null) return false;
    ((Call) c).record(endNs);
    return true;
  }

  /** The body of the call keyed by {@code key} is consumed, or the response closed: record it. */
  public static void end(Object key) {
    if (key != null) take(key, 0);
  }

  /** Records the calls that waited longer than the timeout, latency up to their response head. */
  public static void sweep() {
    long now = System.nanoTime();
    long timeoutNs = Long.getLong("demarc.agent.bodyTimeoutMs", DEFAULT_TIMEOUT_MS) * 1_000_000L;
    for (int i = 0; i < SLOTS; i++) {
      Object key = key(i);
      if (key == null || key == CLAIMING) continue;
      long headAt = NUMBER[i * NUMBERS + 1];
      if (now - headAt > timeoutNs) take(key, headAt);
    }
    if (OVERFLOW.isEmpty()) return;
    List<Call> due = new ArrayList<>();
    OVERFLOW.removeIf((key, headAt, c) -> now - headAt > timeoutNs, c -> due.add((Call) c));
    for (Call c : due) c.record(c.headAt); // outside the table's locks
  }

  /** Detach: forget the waiting calls (the agent no longer measures) and the application's objects. */
  public static void clear() {
    for (int i = 0; i < SLOTS; i++) {
      for (;;) {
        Object key = key(i);
        if (key == CLAIMING) { // an await filling it: a moment
          Thread.onSpinWait();
          continue;
        }
        if (key == null || swap(i, key, null)) break;
      }
    }
    OVERFLOW.clear();
  }

  public static int size() {
    int n = OVERFLOW.size();
    for (int i = 0; i < SLOTS; i++) {
      Object key = key(i);
      if (key != null && key != CLAIMING) n++;
    }
    return n;
  }
}
