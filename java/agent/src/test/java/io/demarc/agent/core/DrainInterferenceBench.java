package io.demarc.agent.core;

import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * What the sender's drain adds to the application's calls when both share one CPU: an application
 * thread makes calls at a fixed rate (busy work, then {@link Recorder#record}, as an instrumented
 * call ends), and a drainer thread stands in for the reporter's sender: parked until a caller asks
 * for a drain (every {@link Recorder#DRAIN_BATCH} calls), then {@link Recorder#drainPending}. Run on
 * one CPU ({@code taskset}), a drainer that preempts the caller which woke it holds that call for
 * the whole batch; the latencies of the calls that asked, and of those right after, show it.
 *
 * <p>Arguments: calls, work per call µs, period µs. Prints one JSON line: mean, p50, p99 and max
 * latency of all calls (ns), the mean of the calls that asked for a drain and of the 8 after each.
 * Run by {@code bench/jvm_drain_interference.ts}. Not a test: nothing is asserted.
 */
public final class DrainInterferenceBench {
  private static long sink;

  private DrainInterferenceBench() {}

  private static void spin(long ns) {
    long end = System.nanoTime() + ns;
    long s = 0;
    while (System.nanoTime() < end) s++;
    sink += s;
  }

  public static void main(String[] args) {
    int calls = Integer.parseInt(args[0]);
    long workNs = Long.parseLong(args[1]) * 1000;
    long periodNs = Long.parseLong(args[2]) * 1000;
    Recorder.activate(true);
    Thread drainer = new Thread(() -> {
      for (;;) {
        LockSupport.park();
        Recorder.drainPending();
      }
    }, "drainer");
    drainer.setDaemon(true);
    drainer.start();
    Recorder.drainedBy(drainer);
    run(Recorder.DRAIN_BATCH * 4, workNs, periodNs); // warm-up: compiled, rows made
    long[] lat = run(calls, workNs, periodNs);
    long[] sorted = lat.clone();
    Arrays.sort(sorted);
    double mean = Arrays.stream(lat).average().orElse(0);
    // Recorder counts queued calls from the process's first: the asking call is the one whose
    // index in the queue ends a batch; from here, every DRAIN_BATCH calls after the first ask.
    long asked = 0, after = 0;
    int askedN = 0, afterN = 0;
    for (int i = 0; i < calls; i++) {
      int phase = (int) ((i + (long) Recorder.DRAIN_BATCH * 4) % Recorder.DRAIN_BATCH);
      if (phase == Recorder.DRAIN_BATCH - 1) {
        asked += lat[i];
        askedN++;
      } else if (phase < 8) {
        after += lat[i];
        afterN++;
      }
    }
    System.out.printf("{\"meanNs\":%.0f,\"p50Ns\":%d,\"p99Ns\":%d,\"maxNs\":%d,\"askedMeanNs\":%d,"
        + "\"afterMeanNs\":%d,\"drains\":%d,\"sink\":%d}%n", mean, sorted[calls / 2],
        sorted[(int) (calls * 0.99)], sorted[calls - 1], askedN == 0 ? 0 : asked / askedN,
        afterN == 0 ? 0 : after / afterN, askedN, sink & 1);
  }

  private static long[] run(int calls, long workNs, long periodNs) {
    long[] lat = new long[calls];
    long next = System.nanoTime();
    for (int i = 0; i < calls; i++) {
      next += periodNs;
      long t0 = System.nanoTime();
      long start = Recorder.start();
      spin(workNs);
      Recorder.record("grpc", "client", false, "10.0.0.1", 0, "10.0.0.2", 50051, "demarc.Echo", "Say", 0, "OK", true,
          start, 10, 10, "grpc-java", null);
      lat[i] = System.nanoTime() - t0;
      long wait = next - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(wait);
      else next = System.nanoTime();
    }
    return lat;
  }
}
