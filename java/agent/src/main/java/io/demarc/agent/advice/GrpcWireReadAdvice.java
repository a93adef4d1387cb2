package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java, {@code StatsTraceContext.inboundMessageRead(seqNo, wireSize, uncompressedSize)}:
 * one message of a stream received, with its size on the wire.
 */
public final class GrpcWireReadAdvice {
  private GrpcWireReadAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This Object context, @Advice.Argument(1) long wireSize) {
    GrpcWire.received(context, wireSize);
  }
}
