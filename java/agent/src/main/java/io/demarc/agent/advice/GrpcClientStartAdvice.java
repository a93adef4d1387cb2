package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import io.demarc.agent.core.InFlight;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java client, {@code ClientCallImpl.start}: remembers when the call began, and marks the
 * thread as starting it, so the stream's context made inside is tied to the call (bytes).
 */
public final class GrpcClientStartAdvice {
  private GrpcClientStartAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This Object call) {
    InFlight.begin(call);
    GrpcWire.starting(call);
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit() {
    GrpcWire.started();
  }
}
