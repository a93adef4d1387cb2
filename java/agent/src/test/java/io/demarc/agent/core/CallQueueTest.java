package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;

class CallQueueTest {
  private static final long[] BOUNDS = {1_000, 1_000_000};

  /** Queues a call of method {@code method} whose bytes sent are {@code value}; its index or -1. */
  private static long offer(CallQueue q, String method, long value) {
    return q.offer("http", "server", true, "10.0.0.1", 8080, "10.0.0.2", 0, "svc", method, StatusClass.OK, "t", 5_000,
        true, value, 7);
  }

  /** Rows by method: {requests, bytes sent}. */
  private static Map<String, long[]> rows(Aggregator a) {
    Map<String, long[]> byMethod = new HashMap<>();
    for (Map<String, Object> r : AggregatorTest.rows(a.flush(true))) {
      byMethod.put((String) r.get("method"), new long[] {(Long) r.get("requests"), (Long) r.get("bytesSent")});
    }
    return byMethod;
  }

  @Test
  void boundedAndFreedByDrainingWithEveryFieldKept() {
    CallQueue q = new CallQueue(5);
    assertEquals(8, q.capacity(), "rounded up to a power of two");
    for (int i = 0; i < 8; i++) assertEquals(i, offer(q, "m", i), "offer " + i);
    assertEquals(-1, offer(q, "m", 100), "full at its capacity");
    Aggregator a = new Aggregator(BOUNDS, 10);
    assertEquals(8, q.drain(a));
    assertEquals(0, q.size());
    List<Map<String, Object>> rows = AggregatorTest.rows(a.flush(true));
    assertEquals(1, rows.size());
    Map<String, Object> r = rows.get(0);
    assertEquals(8L, r.get("requests"));
    assertEquals(8L, r.get("responses"));
    assertEquals(28L, r.get("bytesSent"), "0 + 1 + ... + 7");
    assertEquals(56L, r.get("bytesReceived"));
    assertEquals(40_000L, r.get("latencySumNs"));
    assertEquals(List.of(0L, 8L, 0L), r.get("latencyCounts"));
    assertEquals(true, r.get("ssl"));
    assertEquals(8080L, r.get("localPort"));
    assertEquals("10.0.0.2", r.get("peerIp"));
    assertEquals("svc", r.get("service"));
    assertEquals("t", r.get("library"));
    for (int i = 8; i < 16; i++) assertEquals(i, offer(q, "n", i), "room again after the drain: offer " + i);
    q.drain(a);
    assertEquals(8 + 9 + 10 + 11 + 12 + 13 + 14 + 15, rows(a).get("n")[1], "across the wrap");
  }

  /** A producer between its claim and its fill: the drain stops there, and takes it next time. */
  @Test
  void aClaimedSlotNotYetFilledHoldsTheDrainBackUntilItIs() {
    CallQueue q = new CallQueue(8);
    offer(q, "a", 1);
    long claimed = q.claim();
    offer(q, "c", 3);
    Aggregator a = new Aggregator(BOUNDS, 10);
    assertEquals(1, q.drain(a));
    assertEquals(List.of("a"), List.copyOf(rows(a).keySet()));
    q.fill(claimed, "http", "server", false, "", 0, "", 0, "", "b", StatusClass.OK, "t", 1, true, 2, -1, 0, 0, 0, 0);
    assertEquals(2, q.drain(a));
    Map<String, long[]> rows = rows(a);
    assertEquals(2, rows.size());
    assertEquals(2, rows.get("b")[1]);
    assertEquals(3, rows.get("c")[1]);
  }

  @Test
  void aCallWhoseAddThrowsIsCountedAndTheRestGoOn() {
    CallQueue q = new CallQueue(8);
    offer(q, "ok", 1);
    q.offer("http", "server", false, "", 0, "", 0, "", "bad", null, "t", 1, true, 1, 1); // no status class
    offer(q, "ok", 2);
    long errors = Recorder.internalErrors();
    Aggregator a = new Aggregator(BOUNDS, 10);
    assertEquals(3, q.drain(a));
    assertEquals(errors + 1, Recorder.internalErrors());
    assertEquals(3, rows(a).get("ok")[1]);
    assertEquals(0, q.size());
  }

  /**
   * Four producers offer into a small queue (full most of the time, wrapping thousands of times)
   * while a consumer drains: each producer's row gets exactly its accepted calls, and the sum of
   * their values (a lost or doubled call, or one whose fields were torn, changes it).
   */
  @Test
  void manyProducersOneConsumerEveryAcceptedCallOnce() throws Exception {
    manyProducersOneConsumer(64);
  }

  /** As above, with drains long enough to free slots and yield part way (every {@link CallQueue#YIELD_EVERY}). */
  @Test
  void slotsFreedPartWayThroughALongDrainAreReusedAndEveryCallCountedOnce() throws Exception {
    manyProducersOneConsumer(8 * CallQueue.YIELD_EVERY);
  }

  @Test
  void aDrainLongerThanOneYieldTakesEveryCallAndFreesEverySlot() {
    int n = 4 * CallQueue.YIELD_EVERY + 3;
    CallQueue q = new CallQueue(n);
    for (int i = 0; i < q.capacity(); i++) assertTrue(offer(q, "r", i) >= 0, "slot " + i);
    assertEquals(-1, offer(q, "r", 0), "full");
    Aggregator a = new Aggregator(BOUNDS, 10);
    assertEquals(q.capacity(), q.drain(a));
    assertEquals(0, q.size());
    for (int i = 0; i < q.capacity(); i++) assertTrue(offer(q, "r", 1) >= 0, "slot " + i + " free again");
    assertEquals(q.capacity(), q.drain(a));
    long[] row = rows(a).get("r");
    assertEquals(2L * q.capacity(), row[0]);
  }

  private void manyProducersOneConsumer(int capacity) throws Exception {
    CallQueue q = new CallQueue(capacity);
    int producers = 4;
    int perProducer = 250_000;
    AtomicLongArray accepted = new AtomicLongArray(producers);
    AtomicLongArray sums = new AtomicLongArray(producers);
    CountDownLatch done = new CountDownLatch(producers);
    for (int p = 0; p < producers; p++) {
      int id = p;
      Thread t = new Thread(() -> {
        for (int i = 0; i < perProducer; i++) {
          long value = (long) id * perProducer + i;
          if (offer(q, "p" + id, value) >= 0) {
            accepted.incrementAndGet(id);
            sums.addAndGet(id, value);
          }
        }
        done.countDown();
      });
      t.start();
    }
    Aggregator a = new Aggregator(BOUNDS, 10);
    while (done.getCount() > 0 || q.size() > 0) q.drain(a);
    Map<String, long[]> rows = rows(a);
    long total = 0;
    for (int p = 0; p < producers; p++) {
      long[] row = rows.getOrDefault("p" + p, new long[2]);
      assertEquals(accepted.get(p), row[0], "producer " + p + "'s calls");
      assertEquals(sums.get(p), row[1], "producer " + p + "'s values");
      total += row[0];
    }
    assertTrue(total > capacity, "the consumer kept up at least a little: " + total);
  }

  /**
   * A sampled call's span comes out of the drain with the connection's own ports (the row's key has
   * the ephemeral one at 0), its status and its start on the wall clock; unsampled calls make none.
   */
  @Test
  @SuppressWarnings("unchecked")
  void aSampledCallsSpanIsMadeByTheDrain() {
    CallQueue q = new CallQueue(8);
    Spans spans = new Spans(16);
    long wallBefore = System.currentTimeMillis() * 1_000_000L;
    long end = System.nanoTime();
    q.offer("grpc", "client", false, "127.0.0.1", 0, "127.0.0.2", 50051, "svc", "m", StatusClass.OK, "grpc", 3_000_000,
        true, 10, 20, end, 0, 43210, 50051);
    q.offer("grpc", "client", false, "127.0.0.1", 0, "127.0.0.2", 50051, "svc", "m", StatusClass.OK, "grpc", 1_000,
        true, 10, 20); // not sampled
    q.offer("http", "server", true, "10.0.0.1", 8443, "10.0.0.2", 0, "", "GET /a", StatusClass.CLIENT_ERROR, "t",
        2_000, true, 1, 2, end, 404, 8443, 65535);
    Aggregator a = new Aggregator(BOUNDS, 10);
    assertEquals(3, q.drain(a, spans));
    long wallAfter = System.currentTimeMillis() * 1_000_000L;
    List<Map<String, Object>> got =
        (List<Map<String, Object>>) ((Map<String, Object>) Json.parse(spans.drain())).get("spans");
    assertEquals(2, got.size(), "the two sampled calls: " + got);
    Map<String, Object> c = got.get(0);
    assertEquals("client", c.get("role"));
    assertEquals(43210L, c.get("localPort"));
    assertEquals(50051L, c.get("peerPort"));
    assertEquals(0L, c.get("status"));
    assertEquals(3_000_000L, c.get("durationNs"));
    long start = (Long) c.get("startEpochNs");
    // The end was before the drain and after wallBefore; the start is the duration before it
    // (the wall clock's millisecond steps either side).
    assertTrue(start >= wallBefore - 3_000_000L - 1_000_000L && start <= wallAfter - 3_000_000L + 1_000_000L,
        "start " + start + " within [" + wallBefore + ", " + wallAfter + "] less the duration");
    Map<String, Object> s = got.get(1);
    assertEquals("server", s.get("role"));
    assertEquals(8443L, s.get("localPort"));
    assertEquals(65535L, s.get("peerPort"));
    assertEquals(404L, s.get("status"));
    assertEquals(true, s.get("ssl"));
    assertEquals("GET /a", s.get("method"));
    assertEquals(3L, AggregatorTest.rows(a.flush(false)).stream().mapToLong(r -> (Long) r.get("requests")).sum(),
        "every call counted in its row");
  }
}
