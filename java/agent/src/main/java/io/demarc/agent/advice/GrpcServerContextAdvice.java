package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import io.grpc.internal.StatsTraceContext;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java, {@code StatsTraceContext.newServerContext(factories, fullMethodName, headers)}: a
 * server stream's context. A server without tracers gets the one shared no-op context for every
 * stream; while bytes are measured its stream gets an empty context of its own instead (no
 * tracers: it does exactly what the shared one does), so its messages can be told apart.
 */
public final class GrpcServerContextAdvice {
  private GrpcServerContextAdvice() {}

  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(@Advice.Return(readOnly = false) StatsTraceContext context) {
    if (!GrpcWire.on()) return;
    if (context == StatsTraceContext.NOOP) {
      Object own = GrpcWire.ownContext(context);
      if (own == context) return; // none could be made: this stream has no bytes
      context = (StatsTraceContext) own;
    }
    GrpcWire.serverContext(context);
  }
}
