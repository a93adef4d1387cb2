package io.grpc.internal;

import io.demarc.agent.core.GrpcStreams;
import io.demarc.agent.core.WireSums;
import io.grpc.ClientStreamTracer;
import io.grpc.StreamTracer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * demarc: byte-counting tracers added to gRPC streams. Defined, with the two tracer classes, into
 * the class loader of the application's gRPC, in gRPC's package, by
 * {@code io.demarc.agent.core.GrpcWire}; never loaded from the agent's jar (it is not in it).
 */
public final class DemarcGrpcStreams implements GrpcStreams {
  /** StatsTraceContext's tracers (private; same module and loader: full access). */
  private static final VarHandle TRACERS;

  static {
    try {
      TRACERS = MethodHandles.privateLookupIn(StatsTraceContext.class, MethodHandles.lookup())
          .findVarHandle(StatsTraceContext.class, "tracers", StreamTracer[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private static StreamTracer[] tracers(StatsTraceContext context) {
    return (StreamTracer[]) TRACERS.get(context);
  }

  @Override
  public Object countedServerContext(Object context) {
    StatsTraceContext c = (StatsTraceContext) context;
    DemarcServerWire sums = new DemarcServerWire();
    if (c == StatsTraceContext.NOOP) return new StatsTraceContext(new StreamTracer[] {sums});
    StreamTracer[] own = tracers(c);
    StreamTracer[] all = new StreamTracer[own.length + 1];
    System.arraycopy(own, 0, all, 0, own.length);
    all[own.length] = sums;
    return new StatsTraceContext(all);
  }

  @Override
  public WireSums serverSums(Object context) {
    StreamTracer[] all = tracers((StatsTraceContext) context);
    // Added last, and the only tracer of a server without its own.
    return all.length != 0 && all[all.length - 1] instanceof DemarcServerWire sums ? sums : null;
  }

  @Override
  public WireSums newClientSums() {
    return new DemarcClientWire();
  }

  @Override
  public Object[] withClientSums(Object[] tracers, WireSums sums) {
    DemarcClientWire wire = (DemarcClientWire) sums;
    // A new array of the known type (Arrays.copyOf would make it reflectively, from the argument's class).
    ClientStreamTracer[] all = new ClientStreamTracer[tracers.length + 1];
    System.arraycopy(tracers, 0, all, 0, tracers.length);
    all[tracers.length] = wire;
    wire.tied = true;
    return all;
  }
}
