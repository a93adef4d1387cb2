package io.demarc.agent.core;

import java.util.ArrayList;
import java.util.List;

/**
 * HTTP client calls whose response head is in while the application still reads the body. The
 * call is recorded when the library reports the body consumed or the response closed
 * ({@link #end}), whichever comes first. A call whose body is never read nor closed is recorded
 * by {@link #sweep} (each report period) once it has waited {@code demarc.agent.bodyTimeoutMs}
 * (default 30 s), with its latency ending at the response head. Bounded: past {@link #MAX}
 * waiting calls a new one is recorded at once (as at its head). Keys are library objects (the
 * connection, call or exchange runtime of one call), compared by identity, in {@link CallSlots}
 * (no key wrapper nor map node per call, no identity hash while few calls wait).
 */
public final class BodyWait {
  static final int MAX = 65_536;
  private static final long DEFAULT_TIMEOUT_MS = 30_000;
  /** Waiting calls by key; each entry's number is its head time, for the sweep. */
  private static final CallSlots CALLS = new CallSlots(MAX);

  private BodyWait() {}

  /** One HTTP client call waiting for its body (the row's fields, known at the head). */
  private record Call(boolean ssl, String peerIp, int peerPort, String host, String method, int status, long start,
      long headAt, long bytesSent, long bytesReceived, String library) {
    void record(long endNs) {
      try {
        Recorder.recordUntil("http", "client", ssl, "", 0, peerIp, peerPort, host, method, status,
            StatusClass.http(status), status > 0, start, endNs, bytesSent, bytesReceived, library, null);
      } catch (Throwable t) {
        // counted by Recorder (or the debug switch); never into the application nor the sender
      }
    }
  }

  /**
   * The response head of the call keyed by {@code key} is in (status &gt; 0): record it when its
   * body ends. Calls without a start (agent not measuring) are ignored.
   */
  public static void await(Object key, boolean ssl, String peerIp, int peerPort, String host, String method,
      int status, long start, long bytesSent, long bytesReceived, String library) {
    if (start == 0 || key == null) return;
    Call c = new Call(ssl, peerIp, peerPort, host, method, status, start, System.nanoTime(), bytesSent,
        bytesReceived, library);
    Object old = CALLS.removeValue(key);
    if (CALLS.add(key, c.headAt, c) == IdentityTable.FULL) c.record(0);
    if (old != null) ((Call) old).record(c.headAt); // the key was reused before its body ended: close the older call
  }

  /** The body of the call keyed by {@code key} is consumed, or the response closed: record it. */
  public static void end(Object key) {
    if (key == null) return;
    Object c = CALLS.removeValue(key);
    if (c != null) ((Call) c).record(0);
  }

  /** Records the calls that waited longer than the timeout, latency up to their response head. */
  public static void sweep() {
    if (CALLS.isEmpty()) return;
    long now = System.nanoTime();
    long timeoutNs = Long.getLong("demarc.agent.bodyTimeoutMs", DEFAULT_TIMEOUT_MS) * 1_000_000L;
    List<Call> due = new ArrayList<>();
    CALLS.removeIf((key, headAt, c) -> now - headAt > timeoutNs, c -> due.add((Call) c));
    for (Call c : due) c.record(c.headAt); // outside the table's locks
  }

  /** Detach: forget the waiting calls (the agent no longer measures). */
  public static void clear() {
    CALLS.clear();
  }

  public static int size() {
    return CALLS.size();
  }
}
