package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.internal.StatsTraceContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Message sizes summed per gRPC stream, and the ties from client calls to their streams. */
class GrpcWireTest {
  @BeforeEach
  void on() {
    Recorder.configure(Config.DEFAULT);
    Recorder.activate(true);
  }

  @AfterEach
  void off() {
    Recorder.activate(false);
    Recorder.configure(Config.DEFAULT);
  }

  @Test
  void aServerStreamSumsItsMessagesOnceEach() {
    Object context = new Object(), other = new Object();
    GrpcWire.serverContext(context);
    GrpcWire.serverContext(other);
    GrpcWire.received(context, 100);
    GrpcWire.received(context, 20);
    GrpcWire.sent(context, 7);
    GrpcWire.sent(context, -1); // size unknown: not counted
    GrpcWire.sent(other, 5);
    assertArrayEquals(new long[] {7, 120}, GrpcWire.take(context));
    assertNull(GrpcWire.take(context), "taken once");
    assertArrayEquals(new long[] {5, 0}, GrpcWire.take(other));
    assertEquals(0, GrpcWire.size());
  }

  @Test
  void aStreamNotTrackedCountsNothing() {
    Object context = new Object();
    GrpcWire.sent(context, 10);
    assertNull(GrpcWire.take(context));
    assertEquals(0, GrpcWire.size());
  }

  @Test
  void aClientStreamIsTiedToTheCallStartingOnItsThread() {
    Object call = new Object(), context = new Object(), later = new Object();
    GrpcWire.starting(call);
    GrpcWire.clientContext(context);
    GrpcWire.started(call);
    // Made after start returned (a delayed or retried stream): not this call's.
    GrpcWire.clientContext(later);
    GrpcWire.sent(context, 30);
    GrpcWire.received(context, 40);
    GrpcWire.sent(later, 1);
    assertArrayEquals(new long[] {30, 40}, GrpcWire.takeClient(call));
    assertNull(GrpcWire.takeClient(call));
    assertNull(GrpcWire.take(later), "never tracked");
  }

  @Test
  void onlyTheFirstContextMadeInsideStartIsTheCalls() {
    Object call = new Object(), first = new Object(), second = new Object();
    GrpcWire.starting(call);
    GrpcWire.clientContext(first);
    GrpcWire.clientContext(second);
    GrpcWire.started(call);
    GrpcWire.sent(first, 8);
    GrpcWire.sent(second, 9);
    assertArrayEquals(new long[] {8, 0}, GrpcWire.takeClient(call));
    assertNull(GrpcWire.take(second), "not tracked");
    assertEquals(0, GrpcWire.size());
  }

  @Test
  void manyStreamsAtOnceKeepTheirOwnSums() {
    // More streams in flight than CallSlots has slots: most sums wait in the table behind them.
    Object[] contexts = new Object[1000];
    for (int i = 0; i < contexts.length; i++) {
      contexts[i] = new Object();
      GrpcWire.serverContext(contexts[i]);
    }
    for (int i = 0; i < contexts.length; i++) {
      GrpcWire.sent(contexts[i], i);
      GrpcWire.received(contexts[i], 2L * i);
    }
    for (int i = contexts.length - 1; i >= 0; i--) {
      assertArrayEquals(new long[] {i, 2L * i}, GrpcWire.take(contexts[i]), "stream " + i);
    }
    assertEquals(0, GrpcWire.size());
  }

  @Test
  void aTracerlessServerStreamGetsAContextOfItsOwn() {
    Object a = GrpcWire.ownContext(StatsTraceContext.NOOP), b = GrpcWire.ownContext(StatsTraceContext.NOOP);
    assertInstanceOf(StatsTraceContext.class, a);
    assertNotSame(StatsTraceContext.NOOP, a);
    assertNotSame(a, b, "one per stream");
    assertTrue(((StatsTraceContext) a).getTracersForTest().isEmpty(), "no tracers: it does what the no-op one does");
  }

  @Test
  void nothingIsTrackedWhileBytesAreOff() {
    Config d = Config.DEFAULT;
    Recorder.configure(new Config(d.reportPeriodMs(), d.metrics(), false, d.trace(), d.traceSampleRatio(),
        d.cardinalityCap(), d.latencyBoundsNs(), d.disabled()));
    Object call = new Object(), context = new Object(), server = new Object();
    GrpcWire.starting(call);
    GrpcWire.clientContext(context);
    GrpcWire.started(call);
    GrpcWire.serverContext(server);
    GrpcWire.sent(context, 3);
    assertNull(GrpcWire.takeClient(call));
    assertNull(GrpcWire.take(server));
    assertEquals(0, GrpcWire.size());
  }

  @Test
  void streamsNeverClosedAreSweptAndDetachForgetsAll() {
    Object old = new Object();
    GrpcWire.serverContext(old);
    GrpcWire.sweep(System.nanoTime() + InFlight.STALE_NS + 1);
    assertNull(GrpcWire.take(old), "swept");
    Object live = new Object();
    GrpcWire.serverContext(live);
    Recorder.activate(false);
    assertEquals(0, GrpcWire.size());
  }
}
