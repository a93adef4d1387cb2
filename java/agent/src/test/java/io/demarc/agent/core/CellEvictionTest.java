package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * Rows shared by several threads (so several stripes) go idle and are evicted while those
 * threads come back to them: the eviction gate must never lose nor double a call.
 */
class CellEvictionTest {
  @Test
  void theStripeCountIsAPowerOfTwoUpToEight() {
    assertEquals(1, Cell.stripes(0));
    assertEquals(2, Cell.stripes(1));
    assertEquals(4, Cell.stripes(2));
    assertEquals(8, Cell.stripes(3));
    assertEquals(8, Cell.stripes(64));
  }

  @Test
  void burstsOnSharedRowsSurviveEvictionsExactly() throws Exception {
    Aggregator a = new Aggregator(new long[] {10, 1000}, 100);
    int threads = 4;
    int bursts = 300;
    AtomicInteger running = new AtomicInteger(threads);
    Thread[] ts = new Thread[threads];
    for (int t = 0; t < threads; t++) {
      ts[t] = new Thread(() -> {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int b = 0; b < bursts; b++) {
          for (int i = 0; i < 100; i++) a.add(AggregatorTest.key("GET /" + (i & 1), "ok"), i, true, 1, -1);
          LockSupport.parkNanos(r.nextInt(2_000_000)); // idle long enough, now and then, to be evicted
        }
        running.decrementAndGet();
      });
      ts[t].start();
    }
    long requests = 0;
    long buckets = 0;
    long bytes = 0;
    int emptySeen = 0;
    while (running.get() > 0) {
      for (Map<String, Object> r : AggregatorTest.rows(a.flush(true))) {
        requests += (Long) r.get("requests");
        for (Object c : (List<?>) r.get("latencyCounts")) buckets += (Long) c;
        bytes += (Long) r.get("bytesSent"); // every call knew its bytes: never -1
      }
      if (a.size() == 0) emptySeen++;
      LockSupport.parkNanos(100_000);
    }
    for (Thread t : ts) t.join();
    for (int i = 0; i < 2; i++) {
      for (Map<String, Object> r : AggregatorTest.rows(a.flush(true))) {
        requests += (Long) r.get("requests");
        for (Object c : (List<?>) r.get("latencyCounts")) buckets += (Long) c;
        bytes += (Long) r.get("bytesSent"); // every call knew its bytes: never -1
      }
    }
    long calls = (long) threads * bursts * 100;
    assertEquals(calls, requests);
    assertEquals(calls, buckets);
    assertEquals(calls, bytes);
    assertTrue(emptySeen > 0, "rows were evicted while the writers ran");
  }
}
