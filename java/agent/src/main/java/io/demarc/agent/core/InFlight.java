package io.demarc.agent.core;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Start times of calls whose start and end are seen in different methods of an object the
 * agent cannot add a field to (retransformation forbids new fields). Bounded; entries of calls
 * that never end are swept after a while.
 */
public final class InFlight {
  private static final int MAX = 100_000;
  private static final long STALE_NS = 10L * 60 * 1_000_000_000L;
  private static final ConcurrentHashMap<IdentityKey, Long> STARTS = new ConcurrentHashMap<>();

  private InFlight() {}

  public static void begin(Object call) {
    long t = Recorder.start();
    if (t == 0) return;
    if (STARTS.size() >= MAX) {
      Recorder.internalError();
      return;
    }
    STARTS.put(new IdentityKey(call), t);
  }

  /** As {@link #begin}, unless a start is already recorded for this call (that one stays). */
  public static void beginOnce(Object call) {
    long t = Recorder.start();
    if (t == 0) return;
    if (STARTS.size() >= MAX) {
      Recorder.internalError();
      return;
    }
    STARTS.putIfAbsent(new IdentityKey(call), t);
  }

  /** The start recorded for this call (and forgets it), or 0. */
  public static long end(Object call) {
    if (STARTS.isEmpty()) return 0;
    Long t = STARTS.remove(new IdentityKey(call));
    return t == null ? 0 : t;
  }

  public static void sweep() {
    long now = System.nanoTime();
    STARTS.values().removeIf(t -> now - t > STALE_NS);
  }

  public static void clear() {
    STARTS.clear();
  }

  public static int size() {
    return STARTS.size();
  }
}
