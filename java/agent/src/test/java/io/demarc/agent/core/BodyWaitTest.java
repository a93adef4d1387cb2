package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP client calls waiting for their bodies ({@link BodyWait}): each is recorded exactly once,
 * with its fields as given at the head, whether it waits in a slot or (more calls than slots) as
 * an object behind them; ended by its body, by the sweep, or by its key's reuse.
 */
class BodyWaitTest {
  @BeforeEach
  void on() {
    Recorder.reset();
    BodyWait.clear();
    Recorder.activate(true);
  }

  @AfterEach
  void off() {
    System.clearProperty("demarc.agent.bodyTimeoutMs");
    Recorder.activate(false);
    Recorder.reset();
    BodyWait.clear();
  }

  private static void await(Object key, boolean ssl, int status, long start) {
    BodyWait.await(key, ssl, "10.0.0.7", 8443, "api.example", Recorder.httpMethod("GET", "/items"), status, start,
        11, 22, "okhttp");
  }

  /** The one row of the calls recorded so far. */
  private static Map<String, Object> row() {
    List<Map<String, Object>> rows = AggregatorTest.rows(Recorder.flush(true));
    assertEquals(1, rows.size(), "one row: " + rows);
    return rows.get(0);
  }

  @Test
  void aCallIsRecordedOnceWhenItsBodyEndsWithTheFieldsOfItsHead() throws Exception {
    Object call = new Object();
    long start = System.nanoTime();
    await(call, true, 503, start);
    assertEquals(1, BodyWait.size());
    Thread.sleep(20);
    BodyWait.end(call);
    BodyWait.end(call); // a second report of the same body: nothing more
    assertEquals(0, BodyWait.size());
    Map<String, Object> r = row();
    assertEquals(1L, r.get("requests"));
    assertEquals(1L, r.get("serverErrors"));
    assertEquals(true, r.get("ssl"));
    assertEquals("10.0.0.7", r.get("peerIp"));
    assertEquals(8443L, r.get("peerPort"));
    assertEquals("api.example", r.get("service"));
    assertEquals("GET /items", r.get("method"));
    assertEquals(11L, r.get("bytesSent"));
    assertEquals(22L, r.get("bytesReceived"));
    assertEquals("okhttp", r.get("library"));
    long latency = (Long) r.get("latencySumNs");
    assertTrue(latency >= 20_000_000L, "latency up to the body's end, not the head: " + latency);
  }

  @Test
  void moreCallsThanSlotsWaitBehindThemAndAreEachRecordedOnce() {
    int n = BodyWait.SLOTS * 3;
    Object[] calls = new Object[n];
    for (int i = 0; i < n; i++) {
      calls[i] = new Object();
      await(calls[i], false, 200, System.nanoTime());
    }
    assertEquals(n, BodyWait.size());
    for (int i = n - 1; i >= 0; i--) BodyWait.end(calls[i]);
    assertEquals(0, BodyWait.size());
    assertEquals((long) n, row().get("requests"));
  }

  @Test
  void theSweepRecordsCallsPastTheTimeoutWithTheirLatencyEndingAtTheHead() throws Exception {
    long start = System.nanoTime();
    Object inSlot = new Object();
    await(inSlot, false, 200, start);
    Object[] behind = new Object[BodyWait.SLOTS * 2]; // some of them wait as objects
    for (int i = 0; i < behind.length; i++) {
      behind[i] = new Object();
      await(behind[i], false, 200, start);
    }
    Thread.sleep(30);
    BodyWait.sweep(); // default timeout: 30 s, nothing is due
    assertEquals(1 + behind.length, BodyWait.size());
    System.setProperty("demarc.agent.bodyTimeoutMs", "10");
    BodyWait.sweep();
    assertEquals(0, BodyWait.size());
    BodyWait.end(inSlot); // too late: recorded by the sweep already
    Map<String, Object> r = row();
    assertEquals(1L + behind.length, r.get("requests"));
    long perCall = (Long) r.get("latencySumNs") / (1 + behind.length);
    assertTrue(perCall < 30_000_000L, "latency ends at the head, not at the sweep: " + perCall + " ns");
  }

  @Test
  void aKeyReusedBeforeItsBodyEndedClosesTheOlderCall() {
    Object key = new Object();
    await(key, false, 200, System.nanoTime());
    await(key, false, 200, System.nanoTime());
    assertEquals(1, BodyWait.size());
    BodyWait.end(key);
    assertEquals(2L, row().get("requests"));
  }

  @Test
  void callsEndedBySeveralThreadsWhileOthersWaitAreEachRecordedOnce() throws Exception {
    int threads = 4, perThread = 20_000;
    AtomicInteger failures = new AtomicInteger();
    CountDownLatch go = new CountDownLatch(1);
    Thread[] ts = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      ts[t] = new Thread(() -> {
        try {
          go.await();
          Object[] mine = new Object[3]; // a few calls in flight per thread
          for (int i = 0; i < mine.length; i++) mine[i] = new Object();
          for (int i = 0; i < perThread; i++) {
            Object k = mine[i % mine.length];
            await(k, false, 200, System.nanoTime());
            if (i % 3 == 2) for (Object m : mine) BodyWait.end(m);
          }
          for (Object m : mine) BodyWait.end(m);
        } catch (Throwable e) {
          failures.incrementAndGet();
        }
      });
      ts[t].start();
    }
    go.countDown();
    for (Thread t : ts) t.join();
    assertEquals(0, failures.get());
    assertEquals(0, BodyWait.size());
    assertEquals((long) threads * perThread, row().get("requests"));
  }

  @Test
  void callsParkedOnceAndEndedOnAnotherThreadAreEachRecordedOnce() throws Exception {
    int n = BodyWait.SLOTS * 2; // most of them wait as objects behind the slots
    Object[] calls = new Object[n];
    for (int i = 0; i < n; i++) {
      calls[i] = new Object();
      BodyWait.awaitOnce(calls[i], false, "10.0.0.7", 8443, "api.example", "GET /items", 200,
          System.nanoTime(), 0, 0, "okhttp");
    }
    assertEquals(n, BodyWait.size());
    Thread ender = new Thread(() -> {
      for (Object c : calls) BodyWait.end(c); // from another thread's home slot
      for (Object c : calls) BodyWait.end(c); // again: nothing more
    });
    ender.start();
    ender.join();
    assertEquals(0, BodyWait.size());
    assertEquals((long) n, row().get("requests"));
  }

  @Test
  void clearForgetsTheWaitingCallsWithoutRecordingThem() {
    for (int i = 0; i < BodyWait.SLOTS * 2; i++) await(new Object(), false, 200, System.nanoTime());
    BodyWait.clear();
    assertEquals(0, BodyWait.size());
    assertEquals(0, AggregatorTest.rows(Recorder.flush(true)).size());
  }
}
