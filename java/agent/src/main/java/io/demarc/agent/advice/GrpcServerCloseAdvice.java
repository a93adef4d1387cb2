package io.demarc.agent.advice;

import io.demarc.agent.core.InFlight;
import io.demarc.agent.core.MethodLabels;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.net.SocketAddress;
import net.bytebuddy.asm.Advice;

/** gRPC-java server, {@code ServerCallImpl.close(status, trailers)}: the call's final status. */
public final class GrpcServerCloseAdvice {
  private GrpcServerCloseAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This ServerCall<?, ?> call, @Advice.Argument(0) Status status) {
    long start = InFlight.end(call);
    if (start == 0) return;
    Attributes attrs = call.getAttributes();
    SocketAddress remote = attrs.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    SocketAddress local = attrs.get(Grpc.TRANSPORT_ATTR_LOCAL_ADDR);
    boolean ssl = attrs.get(Grpc.TRANSPORT_ATTR_SSL_SESSION) != null;
    String full = call.getMethodDescriptor().getFullMethodName();
    MethodLabels.Grpc name = Recorder.grpcMethod(full);
    int code = status.getCode().value();
    Recorder.record("grpc", "server", ssl, Recorder.ip(local), Recorder.port(local), Recorder.ip(remote),
        Recorder.port(remote), name.service(), name.method(), code,
        StatusClass.grpc(code), true, start, -1, -1, "grpc-java", status.getCause());
  }
}
