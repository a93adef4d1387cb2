package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import io.grpc.ClientStreamTracer;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java, {@code StatsTraceContext.newClientContext(tracers, attributes, headers)}: a client
 * stream's context is made with its tracers; the sums of the call starting on this thread join
 * them.
 */
public final class GrpcClientContextAdvice {
  private GrpcClientContextAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.Origin Class<?> type,
      @Advice.Argument(value = 0, readOnly = false) ClientStreamTracer[] tracers) {
    tracers = (ClientStreamTracer[]) GrpcWire.clientTracers(type, tracers);
  }
}
