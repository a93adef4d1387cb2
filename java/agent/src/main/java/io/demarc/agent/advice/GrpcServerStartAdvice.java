package io.demarc.agent.advice;

import io.demarc.agent.core.InFlight;
import net.bytebuddy.asm.Advice;

/** gRPC-java server, {@code ServerCallImpl} constructor: one per incoming call. */
public final class GrpcServerStartAdvice {
  private GrpcServerStartAdvice() {}

  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(@Advice.This Object call) {
    InFlight.begin(call);
  }
}
