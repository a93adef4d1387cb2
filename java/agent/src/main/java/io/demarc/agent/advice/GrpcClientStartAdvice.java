package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import io.demarc.agent.core.InFlight;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java client, {@code ClientCallImpl.start}: remembers when the call began, and ties the
 * context of the stream made inside to the call (bytes: {@link GrpcWire}).
 */
public final class GrpcClientStartAdvice {
  private GrpcClientStartAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static boolean enter(@Advice.This Object call) {
    InFlight.begin(call);
    return GrpcWire.starting(call);
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter boolean bytes, @Advice.This Object call) {
    if (bytes) GrpcWire.started(call);
  }
}
