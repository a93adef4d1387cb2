package io.demarc.testapps.grpc;

import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@code grpc-server}: the echo service on a plaintext port and a TLS port (grpc-netty-shaded). */
public final class GrpcServer extends ServerApp {
  private final Server plain;
  private final Server tls;

  public GrpcServer(Flags flags) throws IOException {
    super(flags);
    ServerServiceDefinition service = ServerInterceptors.intercept(definition(), new PeerPort());
    plain = NettyServerBuilder.forAddress(new InetSocketAddress(host, flags.integer("port", 0)))
        .addService(service).build().start();
    int tlsPort = flags.integer("tls-port", 0);
    tls = tlsPort < 0 ? null : NettyServerBuilder.forAddress(new InetSocketAddress(host, tlsPort),
            TlsServerCredentials.newBuilder().keyManager(Tls.keyManagers().getKeyManagers()).build())
        .addService(service).build().start();
  }

  private ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(EchoGrpc.SERVICE)
        .addMethod(EchoGrpc.ECHO, ServerCalls.asyncUnaryCall(this::echo))
        .addMethod(EchoGrpc.ECHO_STREAM, ServerCalls.asyncServerStreamingCall(this::echoStream))
        .build();
  }

  private void echo(byte[] request, StreamObserver<byte[]> out) {
    if (faults.admit(request.length)) {
      out.onError(injected());
      return;
    }
    out.onNext(request);
    faults.sent(request.length);
    out.onCompleted();
  }

  private void echoStream(byte[] request, StreamObserver<byte[]> out) {
    if (faults.admit(request.length)) {
      out.onError(injected());
      return;
    }
    for (int i = 0; i < EchoGrpc.STREAM_MESSAGES; i++) {
      out.onNext(request);
      faults.sent(request.length);
    }
    out.onCompleted();
  }

  private RuntimeException injected() {
    Status.Code code = Status.Code.valueOf(faults.errorCode("INTERNAL"));
    return Status.fromCode(code).withDescription("demarc: injected error").asRuntimeException();
  }

  /** Sends the client's own port back in the response headers (ground truth for localPorts). */
  private static final class PeerPort implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      return next.startCall(new SimpleForwardingServerCall<>(call) {
        @Override
        public void sendHeaders(Metadata responseHeaders) {
          if (call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR) instanceof InetSocketAddress a) {
            responseHeaders.put(EchoGrpc.PEER_PORT, Integer.toString(a.getPort()));
          }
          super.sendHeaders(responseHeaders);
        }
      }, headers);
    }
  }

  @Override
  public String name() {
    return "grpc-server";
  }

  @Override
  public Map<String, Integer> ports() {
    Map<String, Integer> p = new LinkedHashMap<>();
    p.put("plain", plain.getPort());
    if (tls != null) p.put("tls", tls.getPort());
    return p;
  }

  @Override
  public void close() {
    plain.shutdownNow();
    if (tls != null) tls.shutdownNow();
    try {
      plain.awaitTermination(5, TimeUnit.SECONDS);
      if (tls != null) tls.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
