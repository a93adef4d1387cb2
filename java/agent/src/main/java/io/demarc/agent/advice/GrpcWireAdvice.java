package io.demarc.agent.advice;

import io.demarc.agent.core.GrpcWire;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java, {@code StatsTraceContext.outboundMessageSent(seqNo, wireSize, uncompressedSize)}:
 * one message of a stream sent, with its size on the wire.
 */
public final class GrpcWireAdvice {
  private GrpcWireAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This Object context, @Advice.Argument(1) long wireSize) {
    GrpcWire.sent(context, wireSize);
  }
}
