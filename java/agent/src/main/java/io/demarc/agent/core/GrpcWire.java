package io.demarc.agent.core;

/**
 * Bytes of gRPC calls: the wire size of each message, as gRPC-java reports it to its
 * {@code StatsTraceContext} (the body as sent, compressed if it was; without the 5-byte message
 * prefix, HTTP/2 frames and headers), summed per stream and taken by the call's close advice.
 *
 * <p>A stream's sums are keyed by its StatsTraceContext, created with the stream. The server's
 * call reaches its context through {@code ServerStream.statsTraceContext()}; gRPC shares one
 * no-op context among the streams of a server without tracers, so that advice gives each stream
 * its own (an empty one) while bytes are on. A client's call does not reach its stream's
 * context (the stream may be a retrying or delayed wrapper), so the context is tied to the call
 * when it is made inside the call's {@code start} on the same thread, as it is for a channel
 * that is ready; a call whose stream is made later (a channel still connecting, a retry) has no
 * bytes (-1). Only while bytes are on ({@code l7_bytes_metrics}); entries of calls that never
 * closed are swept like {@link InFlight}'s.
 */
public final class GrpcWire {
  private static final int MAX = 100_000;
  /** Context → long[] {sent, received}; the number is when it was added (for the sweep). */
  private static final IdentityTable COUNTS = new IdentityTable(MAX);
  /** Client call → its stream's context. */
  private static final IdentityTable CLIENT_CONTEXTS = new IdentityTable(MAX);
  /** The client call whose {@code start} this thread is in. */
  private static final ThreadLocal<Object> STARTING = new ThreadLocal<>();

  private GrpcWire() {}

  /** Bytes are measured (the agent active and {@code l7_bytes_metrics} on). */
  public static boolean on() {
    return Recorder.active() && Recorder.config().bytes();
  }

  /** A client call's {@code start} begins on this thread. */
  public static void starting(Object call) {
    if (on()) STARTING.set(call);
  }

  /** The {@code start} of {@link #starting} returned (or threw). */
  public static void started() {
    if (STARTING.get() != null) STARTING.set(null);
  }

  /** A client stream's context was made: tied to the call starting on this thread, if any. */
  public static void clientContext(Object context) {
    Object call = STARTING.get();
    if (call == null || context == null) return;
    if (track(context)) {
      if (CLIENT_CONTEXTS.put(call, System.nanoTime(), context, false) == IdentityTable.FULL) {
        COUNTS.removeValue(context);
        Recorder.internalError();
      }
    }
  }

  /** A server stream's context (not the shared no-op one: see the class comment). */
  public static void serverContext(Object context) {
    if (context != null && on()) track(context);
  }

  private static boolean track(Object context) {
    Object r = COUNTS.put(context, System.nanoTime(), new long[2], true);
    if (r == IdentityTable.FULL) {
      Recorder.internalError();
      return false;
    }
    return true;
  }

  /** A message of {@code wireSize} bytes (-1: unknown) was sent on the stream of {@code context}. */
  public static void sent(Object context, long wireSize) {
    add(context, 0, wireSize);
  }

  /** A message of {@code wireSize} bytes (-1: unknown) was received on the stream of {@code context}. */
  public static void received(Object context, long wireSize) {
    add(context, 1, wireSize);
  }

  private static void add(Object context, int i, long wireSize) {
    if (wireSize < 0 || COUNTS.isEmpty()) return;
    // Each direction of a stream is written by one thread at a time (gRPC's framer and
    // deframer), and the close that reads them happens after, through gRPC's own handoffs.
    if (COUNTS.value(context) instanceof long[] c) c[i] += wireSize;
  }

  /** {sent, received} of the client call's stream, forgotten; null when unknown. */
  public static long[] takeClient(Object call) {
    if (CLIENT_CONTEXTS.isEmpty()) return null;
    Object context = CLIENT_CONTEXTS.removeValue(call);
    return context == null ? null : take(context);
  }

  /** {sent, received} of the stream of {@code context}, forgotten; null when unknown. */
  public static long[] take(Object context) {
    if (context == null || COUNTS.isEmpty()) return null;
    return COUNTS.removeValue(context) instanceof long[] c ? c : null;
  }

  /** Forgets streams and calls added more than the stale age before {@code now}. */
  static void sweep(long now) {
    COUNTS.removeIf((k, added, v) -> now - added > InFlight.STALE_NS);
    CLIENT_CONTEXTS.removeIf((k, added, v) -> now - added > InFlight.STALE_NS);
  }

  public static void sweep() {
    sweep(System.nanoTime());
  }

  public static void clear() {
    COUNTS.clear();
    CLIENT_CONTEXTS.clear();
  }

  /** Streams being counted (tests). */
  static int size() {
    return COUNTS.size();
  }
}
