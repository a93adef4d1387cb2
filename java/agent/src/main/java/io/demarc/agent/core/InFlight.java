package io.demarc.agent.core;

/**
 * Start times of calls whose start and end are seen in different methods of an object the
 * agent cannot add a field to (retransformation forbids new fields). Bounded; entries of calls
 * that never end are swept after a while. Allocation-free per call (see {@link IdentityTable}).
 */
public final class InFlight {
  private static final int MAX = 100_000;
  private static final long STALE_NS = 10L * 60 * 1_000_000_000L;
  private static final IdentityTable STARTS = new IdentityTable(MAX);

  private InFlight() {}

  public static void begin(Object call) {
    long t = Recorder.start();
    if (t == 0) return;
    if (STARTS.put(call, t, null, false) == IdentityTable.FULL) Recorder.internalError();
  }

  /** As {@link #begin}, unless a start is already recorded for this call (that one stays). */
  public static void beginOnce(Object call) {
    long t = Recorder.start();
    if (t == 0) return;
    if (STARTS.put(call, t, null, true) == IdentityTable.FULL) Recorder.internalError();
  }

  /** The start recorded for this call (and forgets it), or 0. */
  public static long end(Object call) {
    return call == null ? 0 : STARTS.removeNumber(call);
  }

  public static void sweep() {
    long now = System.nanoTime();
    STARTS.removeIf((call, start, unused) -> now - start > STALE_NS);
  }

  public static void clear() {
    STARTS.clear();
  }

  public static int size() {
    return STARTS.size();
  }
}
