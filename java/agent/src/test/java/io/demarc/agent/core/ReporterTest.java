package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The channel in-process: HELLO, CONFIG, METRICS and SPANS, DETACH → BYE, per PROTOCOL.md. */
class ReporterTest {
  private Path sock;

  @AfterEach
  void cleanUp() throws Exception {
    Recorder.activate(false);
    Recorder.reset();
    if (sock != null) {
      Files.deleteIfExists(sock);
      Files.deleteIfExists(sock.getParent()); // the test's own temp dir
    }
  }

  static Frames.Frame read(SocketChannel c, Frames.Decoder d) throws Exception {
    ByteBuffer buf = ByteBuffer.allocate(65536);
    for (Frames.Frame f = d.next(); ; f = d.next()) {
      if (f != null) return f;
      if (c.read(buf) < 0) return null;
      buf.flip();
      d.feed(buf);
      buf.clear();
    }
  }

  @Test
  void helloConfigMetricsSpansAndDetach() throws Exception {
    sock = Files.createTempDirectory("demarc").resolve("r.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(sock));
      AtomicBoolean detached = new AtomicBoolean();
      Reporter r = new Reporter(sock.toString(), "s3cret", "1.2.3", () -> "[]", () -> detached.set(true));
      r.start();
      try (SocketChannel c = server.accept()) {
        Frames.Decoder d = new Frames.Decoder();
        Frames.Frame hello = read(c, d);
        assertEquals(Frames.HELLO, hello.type());
        @SuppressWarnings("unchecked")
        Map<String, Object> h = (Map<String, Object>) Json.parse(hello.json());
        assertEquals("s3cret", h.get("secret"));
        assertEquals("1.2.3", h.get("agentVersion"));
        assertEquals(ProcessHandle.current().pid(), h.get("pid"));
        assertTrue(h.get("jvm") instanceof Map);

        assertTrue(!Recorder.active(), "nothing is measured before CONFIG");
        c.write(Frames.encode(Frames.CONFIG,
            "{\"reportPeriodMs\":100,\"trace\":true,\"traceSampleRatio\":1,\"latencyBoundsNs\":[1000000]}"));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!Recorder.active() && System.nanoTime() < deadline) Thread.sleep(5);
        for (int i = 0; i < 3; i++) {
          Recorder.record("grpc", "server", true, "10.0.0.1", 50051, "10.0.0.2", 40000, "demo.Echo", "Say", 0,
              StatusClass.OK, true, Recorder.start(), 10, 20, "grpc-java", null);
        }
        long requests = 0;
        boolean spans = false;
        while (requests < 3 || !spans) {
          Frames.Frame f = read(c, d);
          @SuppressWarnings("unchecked")
          Map<String, Object> m = (Map<String, Object>) Json.parse(f.json());
          if (f.type() == Frames.METRICS) {
            assertTrue(m.containsKey("periodStartMs") && m.containsKey("droppedFrames"));
            for (Object row : (List<?>) m.get("rows")) {
              @SuppressWarnings("unchecked")
              Map<String, Object> rr = (Map<String, Object>) row;
              requests += (Long) rr.get("requests");
              assertEquals("demo.Echo", rr.get("service"));
              assertEquals(2, ((List<?>) rr.get("latencyCounts")).size());
              assertEquals(true, rr.get("ssl"));
              assertEquals(50051L, rr.get("localPort"));
            }
          } else if (f.type() == Frames.SPANS) {
            spans = !((List<?>) m.get("spans")).isEmpty();
          }
        }
        c.write(Frames.encode(Frames.DETACH, "{}"));
        Frames.Frame f;
        do {
          f = read(c, d);
        } while (f != null && f.type() != Frames.BYE);
        assertEquals(Frames.BYE, f.type());
        assertEquals("{\"reason\":\"detach\"}", f.json());
        deadline = System.nanoTime() + 5_000_000_000L;
        while (!detached.get() && System.nanoTime() < deadline) Thread.sleep(5);
        assertTrue(detached.get(), "DETACH runs the uninstall hook");
      }
      r.stop("test over");
    }
  }

  private static void recordCalls(int n) {
    for (int i = 0; i < n; i++) {
      Recorder.record("http", "server", false, "10.0.0.1", 8080, "10.0.0.2", 40000, "", "GET /", 200, StatusClass.OK,
          true, Recorder.start(), 1, 1, "t", null);
    }
  }

  /**
   * Records 3 batches' worth of calls, then waits up to 2 s for the sender to have added all but
   * the last, unfinished batch to their row; returns the calls the row got (not reported yet).
   */
  private static long recordAndAwaitDrain() throws InterruptedException {
    int calls = 3 * Recorder.DRAIN_BATCH;
    recordCalls(calls);
    long deadline = System.nanoTime() + 2_000_000_000L;
    while (Recorder.pendingCalls() >= Recorder.DRAIN_BATCH && System.nanoTime() < deadline) Thread.sleep(5);
    // Both counts with no drain moving calls from the queue to the rows in between (the sender
    // may still be draining the last batch asked for: counted twice, 6,528 of 6,144, in one run).
    long[] queuedAndInRow = Recorder.whileNotDraining(() -> {
      long inRow = 0;
      for (Map<String, Object> r : AggregatorTest.rows(Recorder.aggregator().flush(true))) {
        inRow += (Long) r.get("requests");
      }
      return new long[] {Recorder.pendingCalls(), inRow};
    });
    long pending = queuedAndInRow[0], inRow = queuedAndInRow[1];
    assertTrue(pending < Recorder.DRAIN_BATCH, pending + " calls still queued");
    assertEquals(calls, inRow + pending, "every call is in its row or queued");
    return inRow;
  }

  /**
   * A busy JVM's ended calls are added to their rows in batches between reports, connected or
   * not: a long report period must not fill the queue (calls would then add themselves, on the
   * caller's thread). The rest waits for the report.
   */
  @Test
  void queuedCallsAreAddedBetweenReportsAndWhileDisconnected() throws Exception {
    sock = Files.createTempDirectory("demarc").resolve("r.sock");
    Recorder.activate(true); // as by an earlier CONFIG: calls are measured while the runner is away
    Reporter away = new Reporter(sock.toString(), "s", "1", () -> "[]", () -> {});
    away.start(); // nobody listens: it retries with backoff
    assertTrue(recordAndAwaitDrain() > Recorder.DRAIN_BATCH, "drained while disconnected");
    away.stop("test over");
    Recorder.flush(true); // what the batch left queued
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(sock));
      Reporter r = new Reporter(sock.toString(), "s", "1", () -> "[]", () -> {});
      r.start();
      try (SocketChannel c = server.accept()) {
        Frames.Decoder d = new Frames.Decoder();
        assertEquals(Frames.HELLO, read(c, d).type());
        c.write(Frames.encode(Frames.CONFIG, "{\"reportPeriodMs\":60000}"));
        Thread.sleep(100); // the CONFIG applied (it resets nothing counted)
        assertTrue(recordAndAwaitDrain() > Recorder.DRAIN_BATCH, "drained long before the minute's report");
      }
      r.stop("test over");
    }
  }

  @Test
  void aChangedInstrumentationListIsSentOnceAsInstrumentations() throws Exception {
    sock = Files.createTempDirectory("demarc").resolve("r.sock");
    java.util.concurrent.atomic.AtomicReference<String> list =
        new java.util.concurrent.atomic.AtomicReference<>("[{\"name\":\"okhttp\",\"active\":false}]");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(sock));
      Reporter r = new Reporter(sock.toString(), "s", "1", list::get, () -> {});
      r.start();
      try (SocketChannel c = server.accept()) {
        Frames.Decoder d = new Frames.Decoder();
        assertEquals(Frames.HELLO, read(c, d).type());
        c.write(Frames.encode(Frames.CONFIG, "{\"reportPeriodMs\":100}"));
        // Unchanged: a few periods of METRICS and nothing else.
        for (int i = 0; i < 3; i++) assertEquals(Frames.METRICS, read(c, d).type());
        list.set("[{\"name\":\"okhttp\",\"active\":true}]"); // e.g. OkHttp's classes loaded now
        Frames.Frame f;
        do {
          f = read(c, d);
        } while (f.type() == Frames.METRICS);
        assertEquals(Frames.INSTRUMENTATIONS, f.type());
        assertEquals("{\"instrumentations\":[{\"name\":\"okhttp\",\"active\":true}]}", f.json());
        for (int i = 0; i < 3; i++) assertEquals(Frames.METRICS, read(c, d).type(), "sent once per change");
      }
      r.stop("test over");
    }
  }

  /**
   * The first CONFIG on a connection races the sender's first wait: it comes while the sender reads
   * the config in force (the default's 60 s) and the wake count. Sent at moments swept across the
   * first 180 µs after HELLO, every CONFIG starts reports within its own period, never the previous
   * one's. The race that once lost the wake (a CONFIG applied between the two reads) spans a few
   * instructions, too few to hit on demand; a CONFIG that does not wake the sender fails at step 0.
   */
  @Test
  void aFirstConfigArrivingAtAnyMomentStartsReportsWithinItsPeriod() throws Exception {
    sock = Files.createTempDirectory("demarc").resolve("r.sock");
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(sock));
      for (int i = 0; i < SWEEP_STEPS; i++) {
        Recorder.reset(); // the default config again: a 60 s period until the CONFIG applies
        Reporter r = new Reporter(sock.toString(), "s", "1", () -> "[]", () -> {});
        r.start();
        SocketChannel c = server.accept();
        try {
          Frames.Decoder d = new Frames.Decoder();
          assertEquals(Frames.HELLO, read(c, d).type());
          spinMicros(i * SWEEP_STEP_MICROS);
          c.write(Frames.encode(Frames.CONFIG, "{\"reportPeriodMs\":100}"));
          long sent = System.nanoTime();
          Frames.Frame f = readWithin(c, d, 3000);
          assertTrue(f != null && f.type() == Frames.METRICS, "step " + i + " (CONFIG " + i * SWEEP_STEP_MICROS
              + " µs after HELLO): no METRICS " + (System.nanoTime() - sent) / 1_000_000 + " ms after CONFIG");
        } finally {
          r.stop("test over"); // before the runner side closes: a closed one would have it reconnect
          c.close();
        }
      }
    }
  }

  static final int SWEEP_STEPS = 60;
  static final int SWEEP_STEP_MICROS = 3;

  static void spinMicros(long us) {
    long end = System.nanoTime() + us * 1000;
    while (System.nanoTime() < end) Thread.onSpinWait();
  }

  /** The next frame, or null when none came within {@code ms}. */
  static Frames.Frame readWithin(SocketChannel c, Frames.Decoder d, long ms) throws Exception {
    c.configureBlocking(false);
    ByteBuffer buf = ByteBuffer.allocate(65536);
    long end = System.nanoTime() + ms * 1_000_000L;
    for (Frames.Frame f = d.next(); System.nanoTime() < end; f = d.next()) {
      if (f != null) return f;
      if (c.read(buf) < 0) return null;
      buf.flip();
      d.feed(buf);
      buf.clear();
      Thread.sleep(1);
    }
    return null;
  }

  /**
   * An error thrown inside a period (here a LinkageError from the instrumentations list, as a
   * class that fails to load would) is counted, and the next periods are reported: it does not
   * end the sender thread for the JVM's life. A CONFIG whose hook fails the same way keeps the
   * reader reading: the next CONFIG applies.
   */
  @Test
  @org.junit.jupiter.api.Timeout(20) // without the fix no METRICS ever comes: a read would wait forever
  void anErrorInOnePeriodOrConfigDoesNotEndReporting() throws Exception {
    sock = Files.createTempDirectory("demarc").resolve("r.sock");
    java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
    java.util.function.Supplier<String> list = () -> {
      if (asked.incrementAndGet() == 2) throw new NoClassDefFoundError("demo/Missing"); // first after HELLO
      return "[]";
    };
    java.util.function.Consumer<Config> onConfig = c -> {
      if (c.reportPeriodMs() == 200) throw new NoClassDefFoundError("demo/AlsoMissing");
    };
    long errorsBefore = Recorder.internalErrors();
    try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      server.bind(UnixDomainSocketAddress.of(sock));
      Reporter r = new Reporter(sock.toString(), "s", "1", list, () -> {}, onConfig);
      r.start();
      try (SocketChannel c = server.accept()) {
        Frames.Decoder d = new Frames.Decoder();
        assertEquals(Frames.HELLO, read(c, d).type());
        c.write(Frames.encode(Frames.CONFIG, "{\"reportPeriodMs\":200}")); // its hook fails: not applied
        c.write(Frames.encode(Frames.CONFIG, "{\"reportPeriodMs\":100}"));
        for (int i = 0; i < 3; i++) assertEquals(Frames.METRICS, read(c, d).type(), "period " + i);
        assertTrue(asked.get() > 2, "the list was asked for again after it failed");
        assertEquals(100, Recorder.config().reportPeriodMs(), "the second CONFIG applied");
        assertTrue(Recorder.internalErrors() - errorsBefore >= 2, "both errors counted");
      }
      r.stop("test over");
    }
  }
}
