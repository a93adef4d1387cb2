package io.demarc.testapps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.testapps.core.Command;
import io.demarc.testapps.core.Faults;
import io.demarc.testapps.core.LoadRunner;
import io.demarc.testapps.core.Outcome;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CoreTest {
  @Test
  void errorRateFailsExactlyThatShareOfRequests() {
    Faults f = new Faults();
    f.command(Command.parse("set error_rate=0.25"));
    int failed = 0;
    for (int i = 0; i < 100; i++) if (f.admit(0)) failed++;
    assertEquals(25, failed);
    assertEquals(100, Apps.num(f.command(Command.parse("stats")), "requests"));
    assertEquals(25, Apps.num(f.command(Command.parse("stats")), "errors"));
  }

  @Test
  void setRejectsUnknownSettingsAndRatesOutsideZeroToOne() {
    Faults f = new Faults();
    assertTrue(f.command(Command.parse("set error_rate=2")).contains("error"));
    assertTrue(f.command(Command.parse("set colour=blue")).contains("error"));
  }

  @Test
  void runCountsOutcomesBytesAndPortsAndKeepsTheRate() throws Exception {
    AtomicInteger i = new AtomicInteger();
    LoadRunner.Call call = payload -> switch (i.getAndIncrement() % 4) {
      case 0 -> new Outcome(Outcome.Kind.CLIENT_ERROR, payload.length, 0, 1000);
      case 1 -> new Outcome(Outcome.Kind.SERVER_ERROR, payload.length, 0, 1001);
      case 2 -> throw new java.io.IOException("connection reset");
      default -> new Outcome(Outcome.Kind.OK, payload.length, 7, 1000);
    };
    String r = LoadRunner.run(LoadRunner.Options.parse(
        Command.parse("run 20 rate=100 concurrency=2 payload=10")), call);
    assertEquals(20, Apps.num(r, "calls"));
    assertEquals(5, Apps.num(r, "ok"));
    assertEquals(10, Apps.num(r, "clientErrors"));
    assertEquals(5, Apps.num(r, "serverErrors"));
    assertEquals(15, Apps.num(r, "errors"));
    assertEquals(5, Apps.num(r, "exceptions"));
    assertEquals(200, Apps.num(r, "bytesSent"));
    assertEquals(35, Apps.num(r, "bytesReceived"));
    assertEquals(java.util.List.of(1000, 1001), Apps.ports(r));
    // 20 calls at 100/s: the last one is due 190 ms after the first.
    assertTrue(Apps.num(r, "elapsedNs") >= 190_000_000L, r);
  }

  @Test
  void forMsStopsStartingCallsAndCountsOnlyTheCallsMade() throws Exception {
    AtomicInteger made = new AtomicInteger();
    LoadRunner.Call call = payload -> {
      made.incrementAndGet();
      Thread.sleep(1);
      return new Outcome(Outcome.Kind.OK, payload.length, 0, 0);
    };
    // A million calls of >= 1 ms on 2 threads would take over 8 minutes: the limit ends it first.
    String r = LoadRunner.run(LoadRunner.Options.parse(
        Command.parse("run 1000000 concurrency=2 for_ms=100")), call);
    long calls = Apps.num(r, "calls");
    assertTrue(calls > 0 && calls < 1_000_000, r);
    assertEquals(made.get(), calls, r);
    assertEquals(calls, Apps.num(r, "ok"), r);
    assertTrue(Apps.num(r, "elapsedNs") >= 100_000_000L, r);
    // Every latency counted is a call made (none of the untaken slots' zeros): at least 1 ms each.
    assertTrue(Apps.num(r, "p50Ns") >= 1_000_000L, r);
    assertTrue(Apps.num(r, "sumNs") >= calls * 1_000_000L, r);
  }

  @Test
  void startAtMsDelaysTheRunToThatTimeAndRefusesTimesFarAhead() throws Exception {
    LoadRunner.Call call = payload -> new Outcome(Outcome.Kind.OK, payload.length, 0, 0);
    long before = System.nanoTime();
    double at = System.currentTimeMillis() + 200.0;
    String r = LoadRunner.run(LoadRunner.Options.parse(
        Command.parse("run 1 start_at_ms=" + at)), call);
    assertEquals(1, Apps.num(r, "ok"), r);
    // The wall clock read above is at most 1 ms behind: the run began at least 199 ms later.
    assertTrue(System.nanoTime() - before >= 199_000_000L, r);
    double far = System.currentTimeMillis() + 3_600_000.0;
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> LoadRunner.run(LoadRunner.Options.parse(
            Command.parse("run 1 start_at_ms=" + far)), call));
  }

  @Test
  void percentileIsNearestRank() {
    long[] v = new long[100];
    for (int i = 0; i < 100; i++) v[i] = i + 1;
    assertEquals(50, LoadRunner.percentile(v, 0.50));
    assertEquals(99, LoadRunner.percentile(v, 0.99));
  }

  @Test
  void trimmedMeanLeavesOutTheShareAtEachEnd() {
    long[] v = new long[100];
    for (int i = 0; i < 100; i++) v[i] = 10;
    v[99] = 1_000_000; // one call delayed by a millisecond
    v[0] = 0;
    assertEquals(10, LoadRunner.trimmedMean(v, 0.05));
    for (int i = 0; i < 100; i++) v[i] = i; // 5..94 kept
    assertEquals((5 + 94) / 2, LoadRunner.trimmedMean(v, 0.05));
    assertEquals(0, LoadRunner.trimmedMean(new long[0], 0.05));
  }

  @Test
  void standardDeviationIsTheSampleOne() {
    assertEquals(2, LoadRunner.standardDeviation(new long[] {1, 3, 5}));
    assertEquals(0, LoadRunner.standardDeviation(new long[] {7}));
  }
}
