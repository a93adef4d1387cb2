package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.base.Preconditions;
import io.grpc.Attributes;
import io.grpc.ClientStreamTracer;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerStreamTracer;
import io.grpc.internal.StatsTraceContext;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Bytes of gRPC streams, counted by the agent's tracers in real StatsTraceContexts. */
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
    InFlight.clear();
  }

  private static StatsTraceContext counted(StatsTraceContext context) {
    return (StatsTraceContext) GrpcWire.serverContext(context);
  }

  @Test
  void aTracerlessServerStreamGetsAContextOfItsOwnThatSumsItsMessages() {
    StatsTraceContext a = counted(StatsTraceContext.NOOP), b = counted(StatsTraceContext.NOOP);
    assertNotSame(StatsTraceContext.NOOP, a);
    assertNotSame(a, b, "one per stream");
    a.inboundMessageRead(0, 100, 100);
    a.inboundMessageRead(1, 20, 40);
    a.outboundMessageSent(0, 7, 7);
    a.outboundMessageSent(1, -1, -1); // size unknown: not counted
    b.outboundMessageSent(0, 5, 5);
    WireSums sa = GrpcWire.serverSums(a), sb = GrpcWire.serverSums(b);
    assertEquals(7, sa.sent());
    assertEquals(120, sa.received());
    assertEquals(5, sb.sent());
    assertEquals(0, sb.received());
    assertNull(GrpcWire.serverSums(StatsTraceContext.NOOP), "the shared context counts nothing");
  }

  @Test
  void aServerCallsStartIsNotedWhenItStartsAndTakenOnce() {
    StatsTraceContext c = counted(StatsTraceContext.NOOP);
    WireSums sums = GrpcWire.serverSums(c);
    assertEquals(0, sums.takeStartNs(), "not started yet");
    long before = System.nanoTime();
    c.serverCallStarted(CALL_INFO);
    long start = sums.takeStartNs();
    assertTrue(start >= before && start <= System.nanoTime(), "the start is the call's");
    assertEquals(0, sums.takeStartNs(), "a call closed twice is recorded once");
  }

  @Test
  void aFailureOfTheAgentAtTheCallsStartStaysOutOfGrpc() {
    StatsTraceContext c = counted(StatsTraceContext.NOOP);
    Recorder.throwForTest(true);
    try {
      c.serverCallStarted(CALL_INFO); // gRPC calls this on the application's path: it must not throw
    } finally {
      Recorder.throwForTest(false);
    }
    assertEquals(0, GrpcWire.serverSums(c).takeStartNs(), "no start: the call is not recorded");
  }

  private static final ServerStreamTracer.ServerCallInfo<Object, Object> CALL_INFO =
      new ServerStreamTracer.ServerCallInfo<>() {
        @Override
        public MethodDescriptor<Object, Object> getMethodDescriptor() {
          return null;
        }

        @Override
        public Attributes getAttributes() {
          return Attributes.EMPTY;
        }

        @Override
        public String getAuthority() {
          return null;
        }
      };

  @Test
  void aServerStreamGetsNoTracerWhileTheAgentIsInactive() {
    Recorder.activate(false);
    assertSame(StatsTraceContext.NOOP, GrpcWire.serverContext(StatsTraceContext.NOOP));
  }

  @Test
  void aServerWithTracersKeepsThemBesideTheAgents() {
    long[] seen = new long[1];
    ServerStreamTracer.Factory factory = new ServerStreamTracer.Factory() {
      @Override
      public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
        return new ServerStreamTracer() {
          @Override
          public void outboundMessageSent(int seqNo, long wireSize, long uncompressedSize) {
            seen[0] += wireSize;
          }
        };
      }
    };
    StatsTraceContext own = StatsTraceContext.newServerContext(List.of(factory), "echo.Echo/Say", new Metadata());
    StatsTraceContext c = counted(own);
    assertEquals(2, c.getTracersForTest().size(), "the server's tracer and the agent's");
    c.outboundMessageSent(0, 11, 11);
    assertEquals(11, seen[0], "the server's own tracer still sees the message");
    assertEquals(11, GrpcWire.serverSums(c).sent());
    assertNull(GrpcWire.serverSums(own), "the context replaced counts nothing");
  }

  @Test
  void aClientStreamMadeInsideItsCallsStartCountsForThatCall() {
    Object call = new Object();
    assertTrue(GrpcWire.starting(StatsTraceContext.class, call));
    ClientStreamTracer[] mine = {new ClientStreamTracer() {}};
    ClientStreamTracer[] tracers = (ClientStreamTracer[]) GrpcWire.clientTracers(StatsTraceContext.class, mine);
    assertEquals(2, tracers.length);
    assertSame(mine[0], tracers[0], "the call's own tracers first");
    StatsTraceContext context = StatsTraceContext.newClientContext(tracers, Attributes.EMPTY, new Metadata());
    // A second stream made inside the same start (none in gRPC today): not this call's.
    ClientStreamTracer[] second = new ClientStreamTracer[0];
    assertSame(second, GrpcWire.clientTracers(StatsTraceContext.class, second));
    GrpcWire.started();
    // Made after start returned (a delayed or retried stream): not this call's either.
    ClientStreamTracer[] later = new ClientStreamTracer[0];
    assertSame(later, GrpcWire.clientTracers(StatsTraceContext.class, later));
    context.outboundMessageSent(0, 30, 30);
    context.inboundMessageRead(0, 40, 40);
    WireSums sums = (WireSums) InFlight.value(call);
    assertNotEquals(0, InFlight.end(call));
    assertEquals(30, sums.sent());
    assertEquals(40, sums.received());
  }

  @Test
  void aCallWhoseStreamIsMadeAfterStartHasNoBytes() {
    Object call = new Object();
    GrpcWire.starting(StatsTraceContext.class, call);
    GrpcWire.started();
    WireSums sums = (WireSums) InFlight.value(call);
    assertEquals(-1, sums.sent());
    assertEquals(-1, sums.received());
  }

  @Test
  void nothingIsCountedWhileBytesAreOff() {
    Config d = Config.DEFAULT;
    Recorder.configure(new Config(d.reportPeriodMs(), d.metrics(), false, d.trace(), d.traceSampleRatio(),
        d.cardinalityCap(), d.latencyBoundsNs(), d.disabled()));
    Object call = new Object();
    assertFalse(GrpcWire.on(), "the server's close reports no bytes");
    assertFalse(GrpcWire.starting(StatsTraceContext.class, call), "no started() to follow");
    assertNull(InFlight.value(call));
    assertNotEquals(0, InFlight.end(call), "the call itself is still timed");
    ClientStreamTracer[] tracers = new ClientStreamTracer[0];
    assertSame(tracers, GrpcWire.clientTracers(StatsTraceContext.class, tracers));
  }

  /**
   * As in an application whose gRPC has a class loader of its own (a Spring Boot jar, a web app):
   * the agent's classes are defined into that loader, where nothing else could find them.
   */
  @Test
  void itsClassesAreDefinedIntoTheLoaderOfTheApplicationsGrpc() throws Exception {
    try (URLClassLoader app = isolatedGrpc()) {
      Class<?> contextType = Class.forName("io.grpc.internal.StatsTraceContext", true, app);
      assertNotSame(StatsTraceContext.class, contextType);
      assertThrows(ClassNotFoundException.class, () -> Class.forName("io.grpc.internal.DemarcGrpcStreams", false, app),
          "not on any class path");
      Object noop = contextType.getField("NOOP").get(null);
      Object context = GrpcWire.serverContext(noop);
      assertSame(contextType, context.getClass());
      assertNotSame(noop, context);
      contextType.getMethod("outboundMessageSent", int.class, long.class, long.class).invoke(context, 0, 9L, 9L);
      WireSums sums = GrpcWire.serverSums(context);
      assertEquals(9, sums.sent());
      assertSame(app, sums.getClass().getClassLoader());
      // Another class of the same loader (as after a detach and a new attach) finds them there.
      Class<?> other = Class.forName("io.grpc.ServerStreamTracer", false, app);
      assertSame(GrpcWire.streams(contextType).getClass(), GrpcWire.streams(other).getClass());
    }
  }

  /** gRPC's jars in a loader of their own, which sees the agent's core classes as the boot path would. */
  private static URLClassLoader isolatedGrpc() {
    ClassLoader agentCore = new ClassLoader(ClassLoader.getPlatformClassLoader()) {
      @Override
      protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (name.startsWith("io.demarc.agent.core.")) return GrpcWireTest.class.getClassLoader().loadClass(name);
        return super.loadClass(name, resolve);
      }
    };
    URL[] jars = {jarOf(StatsTraceContext.class), jarOf(ServerStreamTracer.class), jarOf(Preconditions.class)};
    return new URLClassLoader(jars, agentCore);
  }

  private static URL jarOf(Class<?> type) {
    return type.getProtectionDomain().getCodeSource().getLocation();
  }
}
