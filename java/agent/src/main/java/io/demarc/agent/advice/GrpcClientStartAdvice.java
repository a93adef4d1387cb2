package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java client, {@code ClientCallImpl.start}: remembers when the call began, with the sums
 * that the stream made inside will count its bytes into (bytes: {@link GrpcWire}).
 */
public final class GrpcClientStartAdvice {
  private GrpcClientStartAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static boolean enter(@Advice.Origin Class<?> type, @Advice.This Object call) {
    return GrpcWire.starting(type, call);
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter boolean bytes) {
    if (bytes) GrpcWire.started();
  }
}
