package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;

/**
 * A call never waits for a stripe: when every stripe of a row is held (their holders descheduled
 * mid-add, or the flusher summing them), it goes to the row's shared counters, and the flusher
 * still reports every call exactly once and whole (never split over two periods).
 */
class CellContentionTest {
  private static final long[] BOUNDS = {10, 1000};
  /** Bucket index of a 5 ns call (le 10) in a delta. */
  private static final int FIRST_BUCKET = Cell.BUCKETS;

  private static long buckets(long[] d) {
    long n = 0;
    for (int i = Cell.BUCKETS; i < d.length; i++) n += d[i];
    return n;
  }

  @Test
  void aCallFindingEveryStripeHeldIsAddedWithoutWaiting() throws Exception {
    Cell c = new Cell(BOUNDS);
    for (int s = 0; s < Cell.STRIPES; s++) assertTrue(c.holdStripe(s));
    AtomicBoolean added = new AtomicBoolean();
    Thread writer = new Thread(() -> added.set(c.add(5, true, StatusClass.SERVER_ERROR, 7, 3)));
    writer.start();
    // A liveness check, not a timing: with every stripe held the old add spun until one was let go.
    writer.join(30_000);
    assertFalse(writer.isAlive(), "add waited for a held stripe");
    assertTrue(added.get());
    assertEquals(1, c.sharedAdds());
    for (int s = 0; s < Cell.STRIPES; s++) c.releaseStripe(s);

    long[] d = c.takeDelta();
    assertNotNull(d);
    assertEquals(1, d[Cell.REQUESTS]);
    assertEquals(1, d[Cell.RESPONSES]);
    assertEquals(1, d[Cell.SERVER_ERRORS]);
    assertEquals(5, d[Cell.LATENCY_SUM]);
    assertEquals(7, d[Cell.BYTES_SENT]);
    assertEquals(3, d[Cell.BYTES_RECEIVED]);
    assertEquals(1, d[FIRST_BUCKET]);
    assertEquals(null, c.takeDelta(), "reported once");
  }

  @Test
  void aClosedRowTurnsAwayCallsAfterSharedAdds() {
    Cell c = new Cell(BOUNDS);
    for (int s = 0; s < Cell.STRIPES; s++) c.holdStripe(s);
    assertTrue(c.add(5, true, StatusClass.OK, -1, -1));
    for (int s = 0; s < Cell.STRIPES; s++) c.releaseStripe(s);
    assertTrue(c.close(), "no writer inside: the row closes");
    assertFalse(c.add(5, true, StatusClass.OK, -1, -1), "a closed row takes no call (the caller looks it up again)");
    long[] last = c.takeDelta();
    assertEquals(1, last[Cell.REQUESTS], "the shared call is in the row's last delta");
  }

  /**
   * Writers hammer one row while the flusher holds every stripe again and again (so writers take
   * the shared path) and empties the row in between: every call is counted exactly once, and
   * every delta is whole (its requests equal its histogram's count).
   */
  @Test
  void underStripeStarvationEveryCallIsReportedOnceAndWhole() throws Exception {
    Cell c = new Cell(BOUNDS);
    int writers = 3;
    int perWriter = 200_000;
    AtomicLong done = new AtomicLong();
    Thread[] ts = new Thread[writers];
    // The writers start while the flusher holds every stripe, which it lets go only once one of
    // them has taken the shared path: on a busy host they could otherwise all finish before the
    // flusher's first hold.
    for (int s = 0; s < Cell.STRIPES; s++) c.holdStripe(s);
    for (int t = 0; t < writers; t++) {
      ts[t] = new Thread(() -> {
        for (int i = 0; i < perWriter; i++) {
          if (!c.add(i & 2047, true, StatusClass.OK, 1, -1)) throw new IllegalStateException("row closed");
        }
        done.incrementAndGet();
      });
      ts[t].start();
    }
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (c.sharedAdds() == 0 && System.nanoTime() < deadline) LockSupport.parkNanos(10_000);
    long requests = 0;
    long bytes = 0;
    for (boolean first = true; first || done.get() < writers; first = false) {
      if (!first) {
        for (int s = 0; s < Cell.STRIPES; s++) c.holdStripe(s);
        LockSupport.parkNanos(20_000);
      }
      for (int s = 0; s < Cell.STRIPES; s++) c.releaseStripe(s);
      long[] d = c.takeDelta();
      if (d == null) continue;
      assertEquals(d[Cell.REQUESTS], buckets(d), "a delta with part of a call");
      assertEquals(d[Cell.REQUESTS], d[Cell.SENT_KNOWN]);
      requests += d[Cell.REQUESTS];
      bytes += d[Cell.BYTES_SENT];
    }
    for (Thread t : ts) t.join();
    long[] d = c.takeDelta();
    if (d != null) {
      requests += d[Cell.REQUESTS];
      bytes += d[Cell.BYTES_SENT];
    }
    long calls = (long) writers * perWriter;
    assertEquals(calls, requests);
    assertEquals(calls, bytes);
    assertTrue(c.sharedAdds() > 0, "writers found every stripe held at times");
    System.out.printf("stripe starvation: %d of %d calls took the shared path%n", c.sharedAdds(), calls);
  }
}
