package io.demarc.agent.advice;

import io.demarc.agent.core.ConnectionFacts;
import io.demarc.agent.core.GrpcWire;
import io.demarc.agent.core.MethodLabels;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import io.demarc.agent.core.WireSums;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.ServerCall;
import io.grpc.Status;
import io.grpc.internal.ServerStream;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java server, {@code ServerCallImpl.close(status, trailers)}: the call's final status. The
 * call ends when close is called; it is recorded when close returns, once the trailers are handed
 * to the transport, whose thread (woken by the close) can write them on another core meanwhile.
 * On one shared CPU the scheduler lets the closing thread run on until it parks, so there the
 * recording is on the response's way either way (bench/jvm_overhead.ts, one CPU: no difference).
 */
public final class GrpcServerCloseAdvice {
  private GrpcServerCloseAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long end, @Advice.This ServerCall<?, ?> call,
      @Advice.FieldValue("stream") ServerStream stream, @Advice.Argument(0) Status status) {
    if (end == 0) return;
    // The call's start and bytes, from the agent's tracer of its stream (GrpcServerContextAdvice).
    WireSums wire = GrpcWire.serverSums(stream.statsTraceContext());
    long start = wire != null ? wire.takeStartNs() : 0;
    if (start == 0) return;
    // The transport's attributes: one object per connection, its addresses read once.
    Attributes attrs = call.getAttributes();
    ConnectionFacts conn = ConnectionFacts.recent(attrs);
    if (conn == null) {
      conn = ConnectionFacts.remember(attrs, attrs.get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR),
          attrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), attrs.get(Grpc.TRANSPORT_ATTR_SSL_SESSION) != null);
    }
    String full = call.getMethodDescriptor().getFullMethodName();
    MethodLabels.Grpc name = Recorder.grpcMethod(full);
    int code = status.getCode().value();
    // The response's messages were framed when the application sent them, before this close.
    boolean bytes = GrpcWire.on();
    Recorder.recordUntil("grpc", "server", conn.ssl, conn.localIp, conn.localPort, conn.peerIp, conn.peerPort,
        name.service(), name.method(), code, StatusClass.grpc(code), true, start, end,
        bytes ? wire.sent() : -1, bytes ? wire.received() : -1, "grpc-java", status.getCause());
  }
}
