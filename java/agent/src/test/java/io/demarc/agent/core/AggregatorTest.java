package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AggregatorTest {
  static final long[] BOUNDS = {1_000, 10_000, 100_000};

  static RowKey key(String method, String cls) {
    return new RowKey("http", "client", false, "", 0, "127.0.0.1", 80, "h", method, cls, "test");
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> rows(Aggregator.Flush f) {
    return (List<Map<String, Object>>) Json.parse(f.rowsJson());
  }

  @Test
  void latenciesFallIntoLeBucketsWithAnInfBucket() {
    assertEquals(0, Cell.bucket(BOUNDS, 1_000), "a value equal to a bound is in that bucket (le)");
    assertEquals(1, Cell.bucket(BOUNDS, 1_001));
    assertEquals(3, Cell.bucket(BOUNDS, 5_000_000), "+Inf");
    Aggregator a = new Aggregator(BOUNDS, 10);
    for (long d : new long[] {500, 1_000, 5_000, 50_000, 1_000_000}) a.add(key("GET /", "ok"), d, true, 10, -1);
    Map<String, Object> r = rows(a.flush(true)).get(0);
    assertEquals(List.of(2L, 1L, 1L, 1L), r.get("latencyCounts"));
    assertEquals(1_056_500L, r.get("latencySumNs"));
    assertEquals(5L, r.get("requests"));
    assertEquals(50L, r.get("bytesSent"));
    assertEquals(-1L, r.get("bytesReceived"), "unknown stays -1");
  }

  @Test
  void eachFlushReportsOnlyWhatHappenedSinceTheLastOne() {
    Aggregator a = new Aggregator(BOUNDS, 10);
    a.add(key("GET /", "ok"), 1, true, -1, -1);
    assertEquals(1L, rows(a.flush(true)).get(0).get("requests"));
    assertEquals(0, a.flush(true).rowCount(), "nothing new: no row");
    a.add(key("GET /", "ok"), 1, true, -1, -1);
    a.add(key("GET /", "ok"), 1, true, -1, -1);
    assertEquals(2L, rows(a.flush(true)).get(0).get("requests"));
  }

  @Test
  void errorsAreCountedByClass() {
    Aggregator a = new Aggregator(BOUNDS, 10);
    a.add(key("GET /", StatusClass.CLIENT_ERROR), 1, true, -1, -1);
    a.add(key("GET /", StatusClass.SERVER_ERROR), 1, false, -1, -1);
    long client = 0;
    long server = 0;
    long responses = 0;
    for (Map<String, Object> r : rows(a.flush(true))) {
      client += (Long) r.get("clientErrors");
      server += (Long) r.get("serverErrors");
      responses += (Long) r.get("responses");
    }
    assertEquals(1, client);
    assertEquals(1, server);
    assertEquals(1, responses, "a call without an answer is a request but no response");
  }

  @Test
  void theCardinalityCapFoldsNewRowsIntoOneOverflowRow() {
    Aggregator a = new Aggregator(BOUNDS, 3);
    for (int i = 0; i < 100; i++) a.add(key("GET /item/" + i, "ok"), 1, true, -1, -1);
    assertEquals(3, a.size(), "memory bounded by the cap");
    Aggregator.Flush f = a.flush(true);
    assertEquals(97, f.overflowedCalls());
    List<Map<String, Object>> rows = rows(f);
    assertEquals(4, rows.size());
    Map<String, Object> overflow = rows.get(3);
    assertEquals("overflow", overflow.get("service"));
    assertEquals(97L, overflow.get("requests"));
  }

  @Test
  void idleRowsAreForgottenSoTheCapFreesUp() {
    Aggregator a = new Aggregator(BOUNDS, 1);
    a.add(key("GET /old", "ok"), 1, true, -1, -1);
    for (int i = 0; i < 4; i++) a.flush(true);
    assertEquals(0, a.size());
    a.add(key("GET /new", "ok"), 1, true, -1, -1);
    assertEquals("GET /new", rows(a.flush(true)).get(0).get("method"));
  }

  @Test
  void concurrentWritersLoseNoCountAcrossFlushes() throws Exception {
    Aggregator a = new Aggregator(BOUNDS, 100);
    int threads = 4;
    int perThread = 50_000;
    long[] total = new long[1];
    FlushWhileWriting.run(() -> a.flush(true), threads, perThread,
        (id, i) -> a.add(key("GET /" + (i % 5), id % 2 == 0 ? "ok" : "client_error"), i, true, 1, 1),
        r -> total[0] += (Long) r.get("requests"));
    assertEquals((long) threads * perThread, total[0]);
  }

  @Test
  void theSpanBufferIsBoundedAndCountsDrops() {
    Spans s = new Spans(5);
    for (int i = 0; i < 8; i++) s.offer(key("GET /", "ok"), 0, 80, 200, 1, 2, null);
    @SuppressWarnings("unchecked")
    Map<String, Object> m = (Map<String, Object>) Json.parse(s.drain());
    assertEquals(5, ((List<?>) m.get("spans")).size());
    assertEquals(3L, m.get("droppedSpans"));
    @SuppressWarnings("unchecked")
    Map<String, Object> span = (Map<String, Object>) ((List<?>) m.get("spans")).get(0);
    assertEquals(32, span.get("traceId").toString().length());
    assertEquals("127.0.0.1", span.get("peerIp"));
    assertEquals(null, s.drain(), "nothing new");
    assertTrue(Spans.sampled(1.0));
    assertTrue(!Spans.sampled(0.0));
  }

  /** Threads offering at once, a drain between rounds: every span is either drained or dropped. */
  @Test
  void concurrentOffersKeepTheBoundAndLoseNoCount() throws Exception {
    Spans s = new Spans(1000);
    int threads = 4, perThread = 5000;
    long drained = 0, dropped = 0;
    for (int round = 0; round < 3; round++) {
      Thread[] ts = new Thread[threads];
      for (int t = 0; t < threads; t++) {
        ts[t] = new Thread(() -> {
          for (int i = 0; i < perThread; i++) s.offer(key("GET /", "ok"), 0, 80, 200, 1, 2, null);
        });
        ts[t].start();
      }
      for (Thread t : ts) t.join();
      @SuppressWarnings("unchecked")
      Map<String, Object> m = (Map<String, Object>) Json.parse(s.drain());
      int n = ((List<?>) m.get("spans")).size();
      assertEquals(1000, n, "the bound is reached, never passed");
      drained += n;
      dropped += (Long) m.get("droppedSpans");
    }
    assertEquals(3L * threads * perThread, drained + dropped);
  }
}
