package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

/**
 * A call's texts are handed to the queue as the thread's last equal String, so the sender
 * compares them with their row's key by identity (a client parses its URL per call, a Dubbo
 * provider decodes the method's name from each request).
 */
class CanonicalTextTest {
  @Test
  void equalTextsBecomeTheFirstInstanceUntilTheTextChanges() throws Exception {
    int block = ThreadRecent.block();
    String first = new String("10.0.0.7"), again = new String("10.0.0.7"), other = new String("10.0.0.8");
    ThreadRecent.put(block, ThreadRecent.PEER_IP, null);
    ThreadRecent.put(block, ThreadRecent.SERVICE, null);
    assertSame(first, ThreadRecent.same(block, ThreadRecent.PEER_IP, first));
    assertSame(first, ThreadRecent.same(block, ThreadRecent.PEER_IP, again), "an equal text: the instance the entry holds");
    assertSame(other, ThreadRecent.same(block, ThreadRecent.PEER_IP, other), "another text takes the entry");
    assertSame(other, ThreadRecent.same(block, ThreadRecent.PEER_IP, new String("10.0.0.8")));
    assertSame(again, ThreadRecent.same(block, ThreadRecent.SERVICE, again), "each entry its own");
    // Another thread (with another block: ids are handed out in sequence) has its own entries.
    String[] seen = new String[1];
    Thread t = new Thread(() -> seen[0] = ThreadRecent.block() == block ? null
        : ThreadRecent.same(ThreadRecent.block(), ThreadRecent.PEER_IP, again));
    t.start();
    t.join();
    if (seen[0] != null) assertSame(again, seen[0], "another thread's block does not hold this one's text");
  }

  @Test
  void goingInactiveForgetsEveryThreadsEntries() {
    int block = ThreadRecent.block();
    Object connection = new Object();
    Recorder.activate(true);
    ConnectionFacts kept = ConnectionFacts.remember(connection, null, null, false);
    assertSame(kept, ConnectionFacts.recent(connection));
    assertSame(kept, ThreadRecent.get(block, ThreadRecent.FACTS));
    Recorder.activate(false);
    assertEquals(null, ThreadRecent.get(block, ThreadRecent.FACTS), "no application object stays referenced");
    assertEquals(null, ConnectionFacts.recent(connection));
  }

  @Test
  void callsOfEqualTextsFromNewInstancesGoToOneRow() {
    Recorder.reset();
    Recorder.activate(true);
    try {
      for (int i = 0; i < 100; i++) {
        long start = Recorder.start();
        Recorder.record("http", "client", false, "", 0, new String("127.0.0.1"), 8080, new String("localhost"),
            new String("GET /x"), 200, StatusClass.OK, true, start, 1, 2, "test", null);
      }
      Recorder.drainPending();
      assertEquals(1, Recorder.aggregator().size());
    } finally {
      Recorder.activate(false);
      Recorder.reset();
    }
  }
}
