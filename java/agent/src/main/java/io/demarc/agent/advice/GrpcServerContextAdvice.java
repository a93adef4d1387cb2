package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import io.grpc.internal.StatsTraceContext;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java, {@code StatsTraceContext.newServerContext(factories, fullMethodName, headers)}: a
 * server stream's context. The stream gets one with the same tracers and the agent's, which notes
 * its call's start and counts its bytes (a server without tracers shares one no-op context among
 * its streams: then the stream gets its own).
 */
public final class GrpcServerContextAdvice {
  private GrpcServerContextAdvice() {}

  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(@Advice.Return(readOnly = false) StatsTraceContext context) {
    context = (StatsTraceContext) GrpcWire.serverContext(context);
  }
}
