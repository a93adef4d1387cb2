package io.demarc.agent.core;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Array;
import java.lang.reflect.Constructor;

/**
 * Bytes of gRPC calls: the wire size of each message, as gRPC-java reports it to its
 * {@code StatsTraceContext} (the body as sent, compressed if it was; without the 5-byte message
 * prefix, HTTP/2 frames and headers), summed per stream and taken by the call's close advice.
 *
 * <p>A stream's sums are keyed by its StatsTraceContext, created with the stream, in
 * {@link CallSlots} (a few hot cache lines: in the segment-locked table its lookups were the
 * agent's top frame in a JFR profile of a gRPC pair sharing one CPU). The server's call reaches its
 * context through
 * {@code ServerStream.statsTraceContext()}; gRPC shares one no-op context among the streams of a
 * server without tracers, so that advice gives each stream its own (an empty one) while bytes
 * are on. A client's call does not reach its stream's context (the stream may be a retrying or
 * delayed wrapper): the context made inside the call's {@code start}, on the same thread, as it
 * is for a channel that is ready, is tied to the call when {@code start} returns; a call whose
 * stream is made later (a channel still connecting, a retry), or that closes before its
 * {@code start} returned, has no bytes (-1). Only while bytes are on ({@code l7_bytes_metrics});
 * entries of streams and calls that never closed are swept like {@link InFlight}'s.
 */
public final class GrpcWire {
  private static final int MAX = 100_000;
  /** Context → long[] {sent, received}; the number is when it was added (for the sweep). */
  private static final CallSlots COUNTS = new CallSlots(MAX, true);
  /** Client call → its stream's context; the number is when it was added. */
  private static final CallSlots CONTEXTS = new CallSlots(MAX, true);
  /**
   * Per thread: [0] the client call whose {@code start} it is in, [1] the context made inside it.
   * One array per thread, made once.
   */
  private static final ThreadLocal<Object[]> STARTING = ThreadLocal.withInitial(() -> new Object[2]);

  private GrpcWire() {}

  /** Bytes are measured (the agent active and {@code l7_bytes_metrics} on). */
  public static boolean on() {
    return Recorder.active() && Recorder.config().bytes();
  }

  /** A client call's {@code start} begins on this thread; false when bytes are off (then no {@link #started}). */
  public static boolean starting(Object call) {
    if (!on()) return false;
    STARTING.get()[0] = call;
    return true;
  }

  /** The {@code start} of {@link #starting} returned (or threw): the context made inside is the call's. */
  public static void started(Object call) {
    Object[] s = STARTING.get();
    Object context = s[1];
    s[0] = null;
    s[1] = null;
    if (context != null && CONTEXTS.add(call, System.nanoTime(), context) == IdentityTable.FULL) {
      COUNTS.removeValue(context);
      Recorder.internalError();
    }
  }

  /** {sent, received} of the client call's stream, forgotten; null when unknown. */
  public static long[] takeClient(Object call) {
    return call == null ? null : take(CONTEXTS.removeValue(call));
  }

  /** A client stream's context was made: the first one inside a starting call is that call's. */
  public static void clientContext(Object context) {
    if (!on()) return;
    Object[] s = STARTING.get();
    if (s[0] == null || s[1] != null || context == null) return;
    if (track(context)) s[1] = context;
  }

  /** Makes empty contexts of one StatsTraceContext class (one per class loader that has gRPC). */
  private record ContextMaker(Class<?> type, MethodHandle constructor, Object noTracers) {
    /** The maker for {@code type}, through its constructor of a tracer array (package-private). */
    static ContextMaker of(Class<?> type) throws ReflectiveOperationException {
      for (Constructor<?> c : type.getDeclaredConstructors()) {
        Class<?>[] p = c.getParameterTypes();
        if (p.length != 1 || !p[0].isArray()) continue;
        c.setAccessible(true);
        // Typed (Object)Object once, so each call is an exact invoke (a plain invoke of a handle
        // read from a field adapts its type on every call).
        MethodHandle h = MethodHandles.lookup().unreflectConstructor(c)
            .asType(MethodType.methodType(Object.class, Object.class));
        return new ContextMaker(type, h, Array.newInstance(p[0].getComponentType(), 0));
      }
      throw new NoSuchMethodException(type.getName() + "(StreamTracer[])");
    }
  }

  private static volatile ContextMaker contextMaker;

  /**
   * A new context with no tracers, of the class of {@code shared} (gRPC's no-op context, which it
   * shares among a tracer-less server's streams), or {@code shared} itself when none can be made.
   * Made through the constructor gRPC's own factory methods call, not through one of them (the
   * client's is hooked).
   */
  public static Object ownContext(Object shared) {
    try {
      ContextMaker m = contextMaker;
      if (m == null || m.type != shared.getClass()) contextMaker = m = ContextMaker.of(shared.getClass());
      return (Object) m.constructor.invokeExact(m.noTracers);
    } catch (Throwable e) {
      Recorder.internalError();
      return shared;
    }
  }

  /** A server stream's context (not the shared no-op one: see the class comment). */
  public static void serverContext(Object context) {
    if (context != null && on()) track(context);
  }

  private static boolean track(Object context) {
    if (COUNTS.add(context, System.nanoTime(), new long[2]) == IdentityTable.FULL) {
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
    if (wireSize < 0 || !on()) return;
    // Each direction of a stream is written by one thread at a time (gRPC's framer and
    // deframer), and the close that reads them happens after, through gRPC's own handoffs.
    if (COUNTS.value(context) instanceof long[] c) c[i] += wireSize;
  }

  /** {sent, received} of the stream of {@code context}, forgotten; null when unknown. */
  public static long[] take(Object context) {
    return context != null && COUNTS.removeValue(context) instanceof long[] c ? c : null;
  }

  /** Forgets streams added more than the stale age before {@code now}. */
  static void sweep(long now) {
    COUNTS.removeIf((k, added, v) -> now - added > InFlight.STALE_NS, v -> {});
    CONTEXTS.removeIf((k, added, v) -> now - added > InFlight.STALE_NS, v -> {});
  }

  public static void sweep() {
    sweep(System.nanoTime());
  }

  public static void clear() {
    COUNTS.clear();
    CONTEXTS.clear();
  }

  /** Streams being counted (tests). */
  static int size() {
    return COUNTS.size();
  }
}
