package io.demarc.agent.advice;

import io.demarc.agent.core.InFlight;
import net.bytebuddy.asm.Advice;

/** gRPC-java client, {@code ClientCallImpl.start}: remembers when the call began. */
public final class GrpcClientStartAdvice {
  private GrpcClientStartAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This Object call) {
    InFlight.begin(call);
  }
}
