package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Start times kept per call object: in the slots, and in the table behind them when slots run out. */
class InFlightTest {
  @BeforeEach
  void on() {
    InFlight.clear();
    Recorder.activate(true);
  }

  @AfterEach
  void off() {
    Recorder.activate(false);
    InFlight.clear();
  }

  /** A call and the clock readings around its begin. */
  private record Begun(Object call, long before, long after) {}

  private static Begun begin() {
    Object call = new Object();
    long before = System.nanoTime();
    InFlight.begin(call);
    return new Begun(call, before, System.nanoTime());
  }

  private static void assertOwnStart(Begun b, long start) {
    assertTrue(start >= b.before() && start <= b.after(),
        "start " + start + " outside its begin [" + b.before() + ", " + b.after() + "]");
  }

  @Test
  void aCallEndsOnceWithItsStart() {
    Begun b = begin();
    assertEquals(1, InFlight.size());
    assertOwnStart(b, InFlight.end(b.call()));
    assertEquals(0, InFlight.end(b.call()), "a second end finds nothing");
    assertEquals(0, InFlight.end(new Object()), "a call never begun");
    assertEquals(0, InFlight.size());
  }

  @Test
  void moreCallsThanSlotsKeepTheirOwnStarts() {
    // One thread begins far more calls than there are slots (most go to the table), then they end
    // in random order.
    List<Begun> calls = new ArrayList<>();
    for (int i = 0; i < CallSlots.SLOTS * 20; i++) calls.add(begin());
    assertEquals(calls.size(), InFlight.size());
    Collections.shuffle(calls, new Random(7));
    for (Begun b : calls) assertOwnStart(b, InFlight.end(b.call()));
    assertEquals(0, InFlight.size());
  }

  @Test
  void callsEndedOnOtherThreadsWhileOthersBeginAreAllFound() throws Exception {
    // Four threads begin calls and hand them to four others that end them, with up to 256 in
    // flight: slots are claimed, moved to the table and freed concurrently.
    int perThread = 50_000;
    BlockingQueue<Begun> handed = new ArrayBlockingQueue<>(256);
    AtomicInteger missing = new AtomicInteger(), wrong = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      threads.add(new Thread(() -> {
        try {
          for (int i = 0; i < perThread; i++) handed.put(begin());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
      threads.add(new Thread(() -> {
        try {
          for (int i = 0; i < perThread; i++) {
            Begun b = handed.take();
            long start = InFlight.end(b.call());
            if (start == 0) missing.incrementAndGet();
            else if (start < b.before() || start > b.after()) wrong.incrementAndGet();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) t.join(60_000);
    assertEquals(0, missing.get(), "ends that found no start");
    assertEquals(0, wrong.get(), "ends that found another call's start");
    assertEquals(0, InFlight.size());
  }

  @Test
  void beginOnceKeepsTheFirstStart() {
    Object inSlot = new Object();
    long before = System.nanoTime();
    InFlight.beginOnce(inSlot);
    long after = System.nanoTime();
    InFlight.beginOnce(inSlot);
    long start = InFlight.end(inSlot);
    assertTrue(start >= before && start <= after, "the first begin's start");
    // The same for a call that was moved to the table.
    List<Begun> fill = new ArrayList<>();
    Object spilled = new Object();
    before = System.nanoTime();
    InFlight.beginOnce(spilled);
    after = System.nanoTime();
    for (int i = 0; i < CallSlots.SLOTS * 4; i++) fill.add(begin());
    InFlight.beginOnce(spilled);
    start = InFlight.end(spilled);
    assertTrue(start >= before && start <= after, "the first begin's start, from the table");
    assertEquals(fill.size(), InFlight.size());
  }

  @Test
  void staleCallsAreSweptFromSlotsAndTable() {
    for (int i = 0; i < CallSlots.SLOTS * 3; i++) begin();
    InFlight.sweep(System.nanoTime());
    assertEquals(CallSlots.SLOTS * 3, InFlight.size(), "nothing is stale yet");
    Begun fresh = begin();
    InFlight.sweep(fresh.before() - 1 + InFlight.STALE_NS + 1);
    assertEquals(1, InFlight.size(), "all but the call begun last are stale");
    assertOwnStart(fresh, InFlight.end(fresh.call()));
  }

  @Test
  void nothingIsKeptWhileInactive() {
    Recorder.activate(false);
    Object call = new Object();
    InFlight.begin(call);
    assertEquals(0, InFlight.size());
    assertEquals(0, InFlight.end(call));
  }
}
