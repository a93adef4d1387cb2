package io.demarc.agent.core;

/**
 * Start times of calls whose start and end are seen in different methods of an object the
 * agent cannot add a field to (gRPC's call objects, HttpURLConnection): in {@link CallSlots}.
 * Bounded; entries of calls that never end are swept after a while. Allocation-free per call.
 */
public final class InFlight {
  private static final int MAX = 100_000;
  static final long STALE_NS = 10L * 60 * 1_000_000_000L;
  private static final CallSlots STARTS = new CallSlots(MAX);

  private InFlight() {}

  /** Records the start of {@code call} (a call begun twice keeps one of the two). */
  public static void begin(Object call) {
    begin(call, null);
  }

  /** As {@link #begin(Object)}, with a value of the agent's kept with the start ({@link #value}). */
  public static void begin(Object call, Object value) {
    long t = Recorder.start();
    if (t == 0 || call == null) return;
    if (STARTS.add(call, t, value) == IdentityTable.FULL) Recorder.internalError();
  }

  /** As {@link #begin}, unless a start is already recorded for this call (that one stays). */
  public static void beginOnce(Object call) {
    long t = Recorder.start();
    if (t == 0 || call == null || STARTS.contains(call)) return;
    if (STARTS.add(call, t, null) == IdentityTable.FULL) Recorder.internalError();
  }

  /** The value recorded with this call's start (left in place: {@link #end} forgets it), or null. */
  public static Object value(Object call) {
    return STARTS.value(call);
  }

  /** The start recorded for this call (and forgets it), or 0. */
  public static long end(Object call) {
    return STARTS.removeNumber(call);
  }

  /**
   * Where this call's start is kept, for {@link #value(Object, int)} then {@link #end(Object, int)}:
   * the two find it with one scan of the slots (a call ended on another thread than the one that
   * began it reads up to all of them).
   */
  public static int find(Object call) {
    return STARTS.find(call);
  }

  /** {@link #value(Object)}, {@code where} from {@link #find}. */
  public static Object value(Object call, int where) {
    return STARTS.value(call, where);
  }

  /** {@link #end(Object)}, {@code where} from {@link #find}. */
  public static long end(Object call, int where) {
    return STARTS.removeNumber(call, where);
  }

  public static void sweep() {
    sweep(System.nanoTime());
  }

  /** Forgets the calls begun more than the stale age before {@code now}. */
  static void sweep(long now) {
    STARTS.removeIf((call, start, unused) -> now - start > STALE_NS, unused -> {});
  }

  public static void clear() {
    STARTS.clear();
  }

  public static int size() {
    return STARTS.size();
  }
}
