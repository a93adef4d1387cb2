package io.demarc.agent.advice;

import io.demarc.agent.core.MethodLabels;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import io.grpc.Attributes;
import io.grpc.ClientCall;
import io.grpc.Grpc;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.demarc.agent.core.ConnectionFacts;
import io.demarc.agent.core.InFlight;
import io.demarc.agent.core.WireSums;
import net.bytebuddy.asm.Advice;

/**
 * gRPC-java client, {@code ClientCallImpl.closeObserver(listener, status, trailers)}: runs once
 * per call (unary or streaming) with its final status, before the application's onClose.
 */
public final class GrpcClientCloseAdvice {
  private GrpcClientCloseAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This ClientCall<?, ?> call, @Advice.FieldValue("method") MethodDescriptor<?, ?> md,
      @Advice.Argument(1) Status status) {
    int where = InFlight.find(call);
    Object sums = InFlight.value(call, where); // before end, which forgets it
    long start = InFlight.end(call, where);
    if (start == 0) return;
    // The transport's attributes: one object per connection, its addresses read once.
    Attributes attrs = call.getAttributes();
    ConnectionFacts conn = ConnectionFacts.recent(attrs);
    if (conn == null) {
      conn = ConnectionFacts.remember(attrs, attrs.get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR),
          attrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR), attrs.get(Grpc.TRANSPORT_ATTR_SSL_SESSION) != null);
    }
    String full = md.getFullMethodName();
    MethodLabels.Grpc name = Recorder.grpcMethod(full);
    int code = status.getCode().value();
    // CANCELLED, DEADLINE_EXCEEDED and UNAVAILABLE usually mean no answer came from the server.
    boolean responded = code != 1 && code != 4 && code != 14;
    WireSums wire = sums instanceof WireSums w ? w : null;
    Recorder.record("grpc", "client", conn.ssl, conn.localIp, conn.localPort, conn.peerIp, conn.peerPort,
        name.service(), name.method(), code, StatusClass.grpc(code), responded, start,
        wire != null ? wire.sent() : -1, wire != null ? wire.received() : -1, "grpc-java", status.getCause());
  }
}
