package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import net.bytebuddy.asm.Advice;

/** gRPC-java, {@code StatsTraceContext.newClientContext}: a client stream's context. */
public final class GrpcClientContextAdvice {
  private GrpcClientContextAdvice() {}

  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(@Advice.Return Object context) {
    GrpcWire.clientContext(context);
  }
}
