package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CallQueueTest {
  @Test
  void boundedInOrderAndFreedByDraining() {
    CallQueue q = new CallQueue(5);
    assertEquals(8, q.capacity(), "rounded up to a power of two");
    for (int i = 0; i < 8; i++) assertTrue(q.offer(i), "offer " + i);
    assertFalse(q.offer(8), "full at its capacity");
    assertEquals(-1, q.claim());
    List<Integer> got = new ArrayList<>();
    assertEquals(8, q.<Integer>drain(got::add));
    assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), got);
    assertEquals(0, q.size());
    for (int i = 8; i < 16; i++) assertTrue(q.offer(i), "room again after the drain: offer " + i);
    got.clear();
    q.<Integer>drain(got::add);
    assertEquals(List.of(8, 9, 10, 11, 12, 13, 14, 15), got, "in order across the wrap");
  }

  /** A producer between its claim and its store: the drain stops there, and takes it next time. */
  @Test
  void aClaimedSlotNotYetFilledHoldsTheDrainBackUntilItIs() {
    CallQueue q = new CallQueue(8);
    q.offer("a");
    long slot = q.claim();
    q.offer("c");
    List<String> got = new ArrayList<>();
    assertEquals(1, q.<String>drain(got::add));
    assertEquals(List.of("a"), got);
    q.store(slot, "b");
    assertEquals(2, q.<String>drain(got::add));
    assertEquals(List.of("a", "b", "c"), got);
  }

  @Test
  void aSinkThatThrowsLosesThatCallOnly() {
    CallQueue q = new CallQueue(8);
    for (int i = 0; i < 4; i++) q.offer(i);
    long errors = Recorder.internalErrors();
    List<Integer> got = new ArrayList<>();
    assertEquals(4, q.<Integer>drain(i -> {
      if (i == 1) throw new IllegalStateException("test");
      got.add(i);
    }));
    assertEquals(List.of(0, 2, 3), got);
    assertEquals(errors + 1, Recorder.internalErrors());
    assertEquals(0, q.size());
  }

  /**
   * Four producers offer into a small queue (full most of the time, wrapping thousands of times)
   * while a consumer drains: each value offered successfully comes out exactly once, and none that
   * was refused does.
   */
  @Test
  void manyProducersOneConsumerEveryAcceptedCallOnce() throws Exception {
    CallQueue q = new CallQueue(64);
    int producers = 4;
    int perProducer = 250_000;
    byte[] seen = new byte[producers * perProducer];
    AtomicLong accepted = new AtomicLong();
    boolean[] refusedSeen = {false};
    byte[] refused = new byte[seen.length];
    CountDownLatch done = new CountDownLatch(producers);
    List<Thread> threads = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      int base = p * perProducer;
      Thread t = new Thread(() -> {
        for (int i = 0; i < perProducer; i++) {
          Integer v = base + i;
          if (q.offer(v)) accepted.incrementAndGet();
          else refused[v] = 1;
        }
        done.countDown();
      });
      threads.add(t);
      t.start();
    }
    long[] drained = {0};
    while (done.getCount() > 0 || q.size() > 0) {
      q.<Integer>drain(v -> {
        seen[v]++;
        drained[0]++;
        if (refused[v] == 1) refusedSeen[0] = true;
      });
    }
    for (Thread t : threads) t.join();
    assertEquals(accepted.get(), drained[0]);
    assertTrue(accepted.get() > 64, "the consumer kept up at least a little: " + accepted.get());
    assertFalse(refusedSeen[0], "a refused value came out");
    for (int v = 0; v < seen.length; v++) {
      assertTrue(seen[v] == (refused[v] == 1 ? 0 : 1), "value " + v + " came out " + seen[v] + " times");
    }
  }
}
