package io.demarc.agent.core;

import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Locale;

/**
 * What the agent's own work costs a call when the CPU's caches hold none of it, as in a JVM that
 * shares its core with others (the overhead bench's four JVMs on one CPU): before each call a
 * buffer larger than the L2 cache is walked (evicting L1, L2 and the TLBs), then one call's agent
 * path is timed. The same loop without the walk gives the warm cost. In-process timings of a warm
 * loop (OverheadTest) say 100-200 ns; the bench's JVMs pay several times that, and this is where
 * it shows.
 *
 * <p>A call is what gRPC's hooks do, in parts selected by the mode:
 * <ul>
 *   <li>{@code none}: a new call object only, kept (the floor: the allocation's line, the clock);
 *   <li>{@code inflight}: its start kept and taken back ({@link InFlight} begin and end);
 *   <li>{@code record}: {@link Recorder#start()}, connection facts, method label and record;
 *   <li>{@code full}: both, as the gRPC client and server hooks run them.
 * </ul>
 *
 * <p>Where the recorder queues ended calls for the sender thread ({@code Recorder.drainPending},
 * absent in older builds), the queue is drained every {@value #DRAIN_EVERY} calls outside the
 * timed call, after a walk when cold, and that drain's time per call is reported apart: it is
 * work the agent's own thread does, in batches.
 *
 * <p>Arguments: mode, rounds, calls per round, walked KiB. Prints one JSON line: per round the
 * median and the 5%-trimmed mean in ns, cold and warm, and the drain's mean ns per call. Run by
 * {@code bench/jvm_cold_path.ts}. Not a test: nothing is asserted.
 */
public final class ColdPathBench {
  private enum Mode { NONE, INFLIGHT, RECORD, FULL }

  private static long sink;
  /**
   * The last call object: every mode keeps it, as the library does. Unkept, the JIT removes the
   * allocation of a call the mode does not hand to the agent (escape analysis), and the floor left
   * out the allocation's cold line (~550 ns here) that modes keeping the call paid.
   */
  private static Call kept;
  private static final int DRAIN_EVERY = 100;
  /** {@code Recorder.drainPending()}, or null in a build without the queue. */
  private static final MethodHandle DRAIN = drainHandle();
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private static MethodHandle drainHandle() {
    try {
      return MethodHandles.publicLookup().findStatic(Recorder.class, "drainPending", MethodType.methodType(int.class));
    } catch (NoSuchMethodException | IllegalAccessException e) {
      return null;
    }
  }

  /**
   * Drains the queue; the thread's CPU time it took in ns (0 without a queue). CPU, not wall time:
   * a drain yields the CPU part way (to the JIT's threads here, to the application in an agent).
   */
  private static long drain() {
    if (DRAIN == null) return 0;
    long t0 = THREADS.getCurrentThreadCpuTime();
    try {
      sink += (int) DRAIN.invokeExact();
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
    return THREADS.getCurrentThreadCpuTime() - t0;
  }

  private ColdPathBench() {}

  private static final class Call {} // a fresh object per call, like gRPC's ClientCallImpl

  private static void call(Mode mode, Object attrs, InetSocketAddress local, InetSocketAddress remote) {
    Call c = new Call();
    kept = c;
    if (mode == Mode.NONE) {
      sink++;
      return;
    }
    long start;
    if (mode == Mode.RECORD) {
      start = Recorder.start();
    } else {
      InFlight.begin(c);
      start = InFlight.end(c);
    }
    if (start == 0 || mode == Mode.INFLIGHT) return;
    ConnectionFacts conn = ConnectionFacts.recent(attrs);
    if (conn == null) conn = ConnectionFacts.remember(attrs, local, remote, false);
    MethodLabels.Grpc name = MethodLabels.grpc("demarc.Echo/Say");
    Recorder.record("grpc", "client", conn.ssl, conn.localIp, conn.localPort, conn.peerIp, conn.peerPort,
        name.service(), name.method(), 0, StatusClass.grpc(0), true, start, -1, -1, "grpc-java", null);
  }

  private static void walk(byte[] buf) {
    long s = 0;
    for (int i = 0; i < buf.length; i += 64) {
      buf[i]++;
      s += buf[i];
    }
    sink += s;
  }

  /**
   * {median, 5%-trimmed mean, drain mean} ns per call of n calls, with or without a walk before
   * each call and each drain.
   */
  private static double[] measure(Mode mode, int n, byte[] buf, Object attrs, InetSocketAddress local,
      InetSocketAddress remote) {
    long[] ns = new long[n];
    long drainNs = 0;
    for (int i = 0; i < n; i++) {
      if (buf != null) walk(buf);
      long t0 = System.nanoTime();
      call(mode, attrs, local, remote);
      ns[i] = System.nanoTime() - t0;
      if ((i + 1) % DRAIN_EVERY == 0) {
        if (buf != null) walk(buf);
        drainNs += drain();
      }
    }
    Arrays.sort(ns);
    long sum = 0;
    int lo = n / 20, hi = n - n / 20;
    for (int i = lo; i < hi; i++) sum += ns[i];
    return new double[] {ns[n / 2], sum / (double) (hi - lo), drainNs / (double) n};
  }

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 4) {
      throw new IllegalArgumentException("usage: ColdPathBench none|inflight|record|full ROUNDS CALLS WALK_KIB");
    }
    // On a thread whose id is not among the first few, as an application's threads are (main's is
    // 1): per-thread slots are chosen by thread id, and the first ones sit in the first cache line.
    Thread bench;
    do {
      bench = new Thread(() -> run(args), "cold-path-bench");
    } while ((bench.getId() & 63) < 40);
    bench.start();
    bench.join();
  }

  private static void run(String[] args) {
    Mode mode = Mode.valueOf(args[0].toUpperCase(Locale.ROOT));
    int rounds = Integer.parseInt(args[1]);
    int n = Integer.parseInt(args[2]);
    byte[] buf = new byte[Integer.parseInt(args[3]) << 10];
    Recorder.configure(Config.parse("{\"trace\":true,\"traceSampleRatio\":0.01,\"bytes\":true}"));
    Recorder.activate(true);
    InetSocketAddress local = new InetSocketAddress("127.0.0.1", 40000);
    InetSocketAddress remote = new InetSocketAddress("127.0.0.1", 50051);
    Object attrs = new Object(); // a connection's attributes: one for every call
    for (int i = 0; i < 300_000; i++) { // compiled by C2
      call(mode, attrs, local, remote);
      if (i % DRAIN_EVERY == 0) drain();
    }
    // The harness too must run compiled by C2 before anything is timed: until then its loop runs
    // profiled code whose counters are cache misses of their own (the first rounds measured
    // 1.3-1.9 us for the floor, the later ones 30 ns).
    for (int r = 0; r < 4; r++) {
      measure(mode, n, buf, attrs, local, remote);
      measure(mode, n, null, attrs, local, remote);
    }
    StringBuilder out = new StringBuilder("{\"mode\":\"").append(args[0]).append('"');
    double[][] cold = new double[rounds][], warm = new double[rounds][];
    for (int r = 0; r < rounds; r++) {
      cold[r] = measure(mode, n, buf, attrs, local, remote);
      warm[r] = measure(mode, n, null, attrs, local, remote);
      drain();
      Recorder.aggregator().flush(true);
      Recorder.spans().drain();
    }
    String[] names = {"coldMedianNs", "coldTrimmedNs", "coldDrainNs", "warmMedianNs", "warmTrimmedNs", "warmDrainNs"};
    for (int k = 0; k < names.length; k++) {
      out.append(",\"").append(names[k]).append("\":[");
      for (int r = 0; r < rounds; r++) {
        double v = (k < 3 ? cold[r] : warm[r])[k % 3];
        out.append(r == 0 ? "" : ",").append(Math.round(v));
      }
      out.append(']');
    }
    System.out.println(out.append('}'));
  }
}
