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
  void equalTextsBecomeTheFirstInstanceUntilTheTextChanges() {
    String[] recent = new String[4];
    String first = new String("10.0.0.7"), again = new String("10.0.0.7"), other = new String("10.0.0.8");
    assertSame(first, Recorder.same(recent, 1, first));
    assertSame(first, Recorder.same(recent, 1, again), "an equal text: the instance the slot holds");
    assertSame(other, Recorder.same(recent, 1, other), "another text takes the slot");
    assertSame(other, Recorder.same(recent, 1, new String("10.0.0.8")));
    assertSame(again, Recorder.same(recent, 2, again), "each slot (thread) its own");
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
