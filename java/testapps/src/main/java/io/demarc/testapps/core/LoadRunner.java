package io.demarc.testapps.core;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs {@code n} calls at an optional fixed rate over {@code k} threads and measures each call
 * around the library's blocking call: the ground truth the agent's figures are checked against.
 */
public final class LoadRunner {
  /** One blocking call with a payload of the requested size; exceptions count as client errors. */
  @FunctionalInterface
  public interface Call {
    Outcome call(byte[] payload) throws Exception;
  }

  /**
   * Options of a {@code run <n> [rate=] [concurrency=] [payload=] [for_ms=] [start_at_ms=]} line.
   * {@code forMs} (0 = no limit) stops starting calls that long after the run began, so two clients
   * driven at the same time measure their throughput over the same interval (a benchmark comparing
   * them side by side); the result's {@code calls} then counts the calls made. {@code startAtMs}
   * (epoch milliseconds, fractions allowed; 0 = now) is when the run begins: two clients given the
   * same time, or times half an interval apart, run their fixed-rate schedules in a known phase
   * instead of a random one (calls of one arriving just behind the other's on the same CPUs).
   */
  public record Options(int calls, double rate, int concurrency, int payload, long forMs, double startAtMs) {
    public static Options parse(Command c) {
      if (c.args().isEmpty()) {
        throw new IllegalArgumentException(
            "usage: run <n> [rate=] [concurrency=] [payload=] [for_ms=] [start_at_ms=]");
      }
      return new Options(
          Integer.parseInt(c.args().get(0)),
          Double.parseDouble(c.options().getOrDefault("rate", "0")),
          Integer.parseInt(c.options().getOrDefault("concurrency", "1")),
          Integer.parseInt(c.options().getOrDefault("payload", "64")),
          Long.parseLong(c.options().getOrDefault("for_ms", "0")),
          Double.parseDouble(c.options().getOrDefault("start_at_ms", "0")));
    }
  }

  /** Most a run waits for its {@code start_at_ms}: a later time is a caller's mistake. */
  static final long MAX_START_DELAY_MS = 60_000;

  /**
   * The {@link System#nanoTime()} at which a run given {@code startAtMs} begins. Both clocks are
   * read together; on Linux nanoTime is CLOCK_MONOTONIC, shared by every process, so two JVMs given
   * the same epoch time start within the few microseconds of reading the clocks.
   */
  static long startNanos(double startAtMs) {
    long mono = System.nanoTime();
    if (startAtMs <= 0) return mono;
    java.time.Instant now = java.time.Instant.now();
    double nowMs = now.getEpochSecond() * 1e3 + now.getNano() / 1e6;
    double delayMs = startAtMs - nowMs;
    if (delayMs > MAX_START_DELAY_MS) {
      throw new IllegalArgumentException(
          "start_at_ms is " + Math.round(delayMs) + " ms ahead (at most " + MAX_START_DELAY_MS + ")");
    }
    return mono + Math.max(0, Math.round(delayMs * 1e6));
  }

  private LoadRunner() {}

  /** Distinct failure descriptions a run keeps. */
  static final int MAX_FAILURE_SAMPLES = 5;

  /** "Class: message", then each cause's, so a wrapped I/O error shows its root. */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null && sb.length() < 400; t = t.getCause() == t ? null : t.getCause()) {
      if (sb.length() > 0) sb.append(" <- ");
      sb.append(t.getClass().getName()).append(": ").append(t.getMessage());
    }
    return sb.toString();
  }

  /** @returns the run's JSON result line */
  public static String run(Options o, Call call) throws InterruptedException {
    byte[] payload = new byte[o.payload()];
    Arrays.fill(payload, (byte) 'x');
    long[] latencies = new long[o.calls()];
    Tally tally = new Tally();
    AtomicInteger next = new AtomicInteger();
    long intervalNs = o.rate() > 0 ? (long) (1e9 / o.rate()) : 0;
    long start = startNanos(o.startAtMs());
    for (long wait; (wait = start - System.nanoTime()) > 0; ) LockSupport.parkNanos(wait);
    long stopAt = o.forMs() > 0 ? start + o.forMs() * 1_000_000 : Long.MAX_VALUE;

    Runnable worker = () -> {
      // The clock is read before an index is taken, so the indices taken are exactly the calls made.
      for (int i; System.nanoTime() - stopAt < 0 && (i = next.getAndIncrement()) < o.calls(); ) {
        if (intervalNs > 0) {
          long due = start + i * intervalNs;
          for (long wait; (wait = due - System.nanoTime()) > 0; ) LockSupport.parkNanos(wait);
        }
        long t0 = System.nanoTime();
        Outcome r;
        try {
          r = call.call(payload);
        } catch (Exception e) {
          tally.failedWith(e);
          r = new Outcome(Outcome.Kind.CLIENT_ERROR, payload.length, 0, 0);
        }
        latencies[i] = System.nanoTime() - t0;
        tally.add(r);
      }
    };
    Thread[] threads = new Thread[Math.max(1, o.concurrency())];
    for (int t = 0; t < threads.length; t++) {
      threads[t] = new Thread(worker, "demarc-load-" + t);
      threads[t].start();
    }
    for (Thread t : threads) t.join();
    int made = Math.min(next.get(), o.calls());
    return tally.json(made < o.calls() ? Arrays.copyOf(latencies, made) : latencies, System.nanoTime() - start);
  }

  /** Counts of one run, updated by all its threads. */
  private static final class Tally {
    final AtomicLong ok = new AtomicLong(), clientErrors = new AtomicLong(), serverErrors = new AtomicLong();
    final AtomicLong sent = new AtomicLong(), received = new AtomicLong(), exceptions = new AtomicLong();
    final ConcurrentSkipListSet<Integer> ports = new ConcurrentSkipListSet<>();
    /** The first few distinct failures ("Class: message <- cause"), so a failed run says why. */
    final ConcurrentSkipListSet<String> failures = new ConcurrentSkipListSet<>();

    void failedWith(Exception e) {
      exceptions.incrementAndGet();
      if (failures.size() < MAX_FAILURE_SAMPLES) failures.add(describe(e));
    }

    void add(Outcome r) {
      switch (r.kind()) {
        case OK -> ok.incrementAndGet();
        case CLIENT_ERROR -> clientErrors.incrementAndGet();
        case SERVER_ERROR -> serverErrors.incrementAndGet();
      }
      sent.addAndGet(r.bytesSent());
      received.addAndGet(r.bytesReceived());
      if (r.localPort() > 0) ports.add(r.localPort());
    }

    String json(long[] latencies, long elapsedNs) {
      Arrays.sort(latencies);
      long sum = 0;
      for (long l : latencies) sum += l;
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("calls", latencies.length);
      m.put("ok", ok.get());
      m.put("errors", clientErrors.get() + serverErrors.get());
      m.put("clientErrors", clientErrors.get());
      m.put("serverErrors", serverErrors.get());
      m.put("exceptions", exceptions.get());
      m.put("meanNs", latencies.length == 0 ? 0 : sum / latencies.length);
      m.put("trimmedMeanNs", trimmedMean(latencies, TRIM));
      m.put("sdNs", standardDeviation(latencies));
      m.put("p50Ns", percentile(latencies, 0.50));
      m.put("p99Ns", percentile(latencies, 0.99));
      m.put("maxNs", latencies.length == 0 ? 0 : latencies[latencies.length - 1]);
      m.put("sumNs", sum);
      m.put("elapsedNs", elapsedNs);
      m.put("bytesSent", sent.get());
      m.put("bytesReceived", received.get());
      m.put("localPorts", new TreeSet<>(ports));
      m.put("failures", new TreeSet<>(failures));
      return Json.write(m);
    }
  }

  /** Share of the slowest and of the fastest calls {@code trimmedMeanNs} leaves out. */
  static final double TRIM = 0.05;

  /**
   * Mean of sorted values without the lowest and highest {@code share} of them: a shift of every
   * call (what an agent's work on the call path adds) moves it as it moves the mean, while a few
   * calls delayed by milliseconds (the host's scheduling) move it far less.
   */
  public static long trimmedMean(long[] sorted, double share) {
    int cut = (int) Math.floor(sorted.length * share);
    if (sorted.length - 2 * cut <= 0) return 0;
    long sum = 0;
    for (int i = cut; i < sorted.length - cut; i++) sum += sorted[i];
    return sum / (sorted.length - 2 * cut);
  }

  /** Sample standard deviation (0 for fewer than two values). */
  public static long standardDeviation(long[] values) {
    if (values.length < 2) return 0;
    double mean = 0;
    for (long v : values) mean += v;
    mean /= values.length;
    double squares = 0;
    for (long v : values) squares += (v - mean) * (v - mean);
    return Math.round(Math.sqrt(squares / (values.length - 1)));
  }

  /** Nearest-rank percentile of sorted values. */
  public static long percentile(long[] sorted, double q) {
    if (sorted.length == 0) return 0;
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
