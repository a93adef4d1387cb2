package io.demarc.agent.core;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;

/**
 * gRPC streams with a tracer of the agent's ({@link WireSums}): a server call's start, and the bytes
 * of calls, the wire size of each message as gRPC-java reports it to the tracers of its stream's
 * {@code StatsTraceContext} (the body as sent, compressed if it was; without the 5-byte message
 * prefix, HTTP/2 frames and headers). The call's close advice reads them: no table is looked up
 * per message, nor for a server call's start (the close reaches its stream's context). A client
 * stream gets one while bytes are on ({@code l7_bytes_metrics}), a server stream while the agent
 * is active.
 *
 * <p>The tracers extend gRPC's classes, so they are defined into the class loader of the
 * application's gRPC, in gRPC's package (with {@link GrpcStreams}' implementation, which calls
 * the package-private constructor of the context), from class bytes the agent carries as
 * resources under {@code grpc/} beside this class; once per loader, kept as long as the loader
 * (a later attach finds them there).
 *
 * <p>A server stream's context is replaced, when it is made, by one with the same tracers plus the
 * agent's (a server without tracers shares one no-op context among its streams: each stream now
 * gets its own); the close reaches it through {@code ServerStream.statsTraceContext()}. A client's
 * call does not reach its stream's context (the stream may be a retrying or delayed wrapper): its
 * sums are made when the call starts, kept with the call's start in {@link InFlight}, and added to
 * the tracers of the first client stream made inside that {@code start}, on the same thread, as it
 * is for a channel that is ready; a call whose stream is made later (a channel still connecting,
 * a retry) has no bytes (-1).
 */
public final class GrpcWire {
  /** Per thread: the sums of the client call whose {@code start} it is in, until a stream takes them. */
  private static final ThreadLocal<WireSums[]> STARTING = ThreadLocal.withInitial(() -> new WireSums[1]);
  /** The class files defined into gRPC's loader, in this order (a class's references defined before it). */
  private static final String[] CLASSES = {"DemarcServerWire", "DemarcClientWire", "DemarcGrpcStreams"};
  private static final String PACKAGE = "io.grpc.internal.";

  /** Per gRPC class loader, keyed by a gRPC class of it: its streams, or NONE when they could not be made. */
  private static final ClassValue<GrpcStreams> BY_CLASS = new ClassValue<>() {
    @Override
    protected GrpcStreams computeValue(Class<?> type) {
      return define(type);
    }
  };

  /**
   * The loader seen last and its streams: the usual single loader without a map lookup. By loader,
   * not class: a client call asks with two classes of it (the call's, the context's), in turns.
   */
  private record Recent(ClassLoader loader, GrpcStreams streams) {}

  private static volatile Recent recent;

  private GrpcWire() {}

  /** Bytes are measured (the agent active and {@code l7_bytes_metrics} on). */
  public static boolean on() {
    return Recorder.active() && Recorder.config().bytes();
  }

  /**
   * A client call's {@code start} begins on this thread (a gRPC class of the call's loader:
   * {@code type}): its start, and its sums while bytes are on, go to {@link InFlight}. Returns
   * whether {@link #started} must follow.
   */
  public static boolean starting(Class<?> type, Object call) {
    GrpcStreams s = on() ? streams(type) : null;
    WireSums sums = s != null ? s.newClientSums() : null;
    InFlight.begin(call, sums);
    if (sums == null) return false;
    STARTING.get()[0] = sums;
    return true;
  }

  /** The {@code start} of {@link #starting} returned (or threw): a stream made later is not this call's. */
  public static void started() {
    STARTING.get()[0] = null;
  }

  /**
   * A client stream is made with {@code tracers} ({@code ClientStreamTracer[]}, of gRPC's class
   * {@code type}'s loader): with the sums of the call starting on this thread added, if it is the
   * first stream made inside that start; else {@code tracers} as they are.
   */
  public static Object[] clientTracers(Class<?> type, Object[] tracers) {
    if (tracers == null || !on()) return tracers;
    WireSums[] s = STARTING.get();
    WireSums sums = s[0];
    if (sums == null) return tracers;
    s[0] = null;
    GrpcStreams streams = streams(type);
    return streams == null ? tracers : streams.withClientSums(tracers, sums);
  }

  /**
   * A server stream's context just made ({@code StatsTraceContext}): one with the agent's tracer
   * (its call's start and bytes) while the agent is active, else {@code context} itself.
   */
  public static Object serverContext(Object context) {
    if (context == null || !Recorder.active()) return context;
    GrpcStreams s = streams(context.getClass());
    return s == null ? context : s.countedServerContext(context);
  }

  /** The start and bytes of a server stream's call, by its context; null when it has no tracer of the agent's. */
  public static WireSums serverSums(Object context) {
    if (context == null) return null;
    GrpcStreams s = streams(context.getClass());
    return s == null ? null : s.serverSums(context);
  }

  /** The streams of the gRPC that {@code type} (a class of it) belongs to; null when they cannot be made. */
  static GrpcStreams streams(Class<?> type) {
    ClassLoader loader = type.getClassLoader();
    Recent r = recent;
    if (r != null && r.loader == loader) return r.streams;
    GrpcStreams s = BY_CLASS.get(type);
    if (s == NONE) return null;
    recent = new Recent(loader, s);
    return s;
  }

  /** Stands for "could not be made" in {@link #BY_CLASS} (a ClassValue cannot hold null). */
  private static final GrpcStreams NONE = new GrpcStreams() {
    public Object countedServerContext(Object context) {
      return context;
    }

    public WireSums serverSums(Object context) {
      return null;
    }

    public WireSums newClientSums() {
      return null;
    }

    public Object[] withClientSums(Object[] tracers, WireSums sums) {
      return tracers;
    }
  };

  /** Forgets the loader seen last (at detach: it is the application's). */
  public static void clear() {
    recent = null;
  }

  /**
   * Defines the streams' classes into the loader of {@code type}, or finds them there from an
   * earlier attach (this class, on the boot class path, outlives a detach; its ClassValue too,
   * but a class of the loader may be asked first for which it was never computed).
   */
  private static GrpcStreams define(Class<?> type) {
    try {
      ClassLoader loader = type.getClassLoader();
      Class<?> context = Class.forName(PACKAGE + "StatsTraceContext", false, loader);
      Class<?> streams;
      synchronized (GrpcWire.class) {
        streams = definedIn(loader);
        if (streams == null) {
          MethodHandles.Lookup lookup = MethodHandles.privateLookupIn(context, MethodHandles.lookup());
          for (String name : CLASSES) streams = lookup.defineClass(classBytes(name));
        }
      }
      return (GrpcStreams) streams.getDeclaredConstructor().newInstance();
    } catch (Throwable e) {
      Recorder.internalError("defining the gRPC stream tracers into " + type.getClassLoader(), e);
      return NONE;
    }
  }

  /**
   * The streams class already defined in {@code loader}, or null. Asked through the loader: the
   * class is not on any class path (the agent's jar leaves it out), so only a definition finds it.
   */
  private static Class<?> definedIn(ClassLoader loader) {
    try {
      return Class.forName(PACKAGE + CLASSES[CLASSES.length - 1], false, loader);
    } catch (ClassNotFoundException e) {
      return null;
    }
  }

  /**
   * The class files of {@link #CLASSES}, read once by {@link #keepClassFiles}; null until then.
   * Written once before any stream is made (the attach that injects the core), read after.
   */
  private static volatile byte[][] classFiles;

  /**
   * Reads the stream classes' files now, from the jar this class came from, so that the jar's file
   * can be deleted while the VM keeps it open (BootstrapInjector): defining them later finds no
   * file to read.
   */
  public static void keepClassFiles() throws IOException {
    byte[][] files = new byte[CLASSES.length][];
    for (int i = 0; i < CLASSES.length; i++) files[i] = readClassFile(CLASSES[i]);
    classFiles = files;
  }

  private static byte[] classBytes(String name) throws IOException {
    byte[][] kept = classFiles;
    if (kept != null) {
      for (int i = 0; i < CLASSES.length; i++) {
        if (CLASSES[i].equals(name)) return kept[i];
      }
    }
    return readClassFile(name);
  }

  private static byte[] readClassFile(String name) throws IOException {
    try (InputStream in = GrpcWire.class.getResourceAsStream("grpc/" + name + ".class")) {
      if (in == null) throw new IOException("agent resource grpc/" + name + ".class missing");
      return in.readAllBytes();
    }
  }
}
