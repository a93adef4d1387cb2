package io.demarc.testapps.grpc;

import io.demarc.testapps.core.ClientApp;
import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.Outcome;
import io.demarc.testapps.core.Tls;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.MetadataUtils;
import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code grpc-client --target host:port [--tls] [--streaming]}: one channel (one HTTP/2
 * connection) shared by all calls and runs. Status classes: see {@link #SERVER_SIDE}.
 */
public final class GrpcClient extends ClientApp {
  /** Codes that count as server errors; every other non-OK code is a client error. */
  static final Set<Status.Code> SERVER_SIDE = Set.of(Status.Code.INTERNAL, Status.Code.UNAVAILABLE,
      Status.Code.UNKNOWN, Status.Code.DATA_LOSS, Status.Code.UNIMPLEMENTED);

  private final ManagedChannel channel;
  private final boolean streaming;
  private final long timeoutMs;

  public GrpcClient(Flags flags) {
    ChannelCredentials creds = flags.bool("tls")
        ? TlsChannelCredentials.newBuilder().trustManager(Tls.TRUST_ALL).build()
        : InsecureChannelCredentials.create();
    channel = Grpc.newChannelBuilder(flags.required("target"), creds).build();
    streaming = flags.bool("streaming");
    timeoutMs = flags.integer("timeout-ms", 30_000);
  }

  @Override
  public Outcome call(byte[] payload) {
    AtomicReference<Metadata> headers = new AtomicReference<>();
    Channel ch = ClientInterceptors.intercept(channel,
        MetadataUtils.newCaptureMetadataInterceptor(headers, new AtomicReference<>()));
    CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS);
    long received = 0;
    try {
      if (streaming) {
        Iterator<byte[]> it = ClientCalls.blockingServerStreamingCall(ch, EchoGrpc.ECHO_STREAM, options, payload);
        while (it.hasNext()) received += it.next().length;
      } else {
        received = ClientCalls.blockingUnaryCall(ch, EchoGrpc.ECHO, options, payload).length;
      }
      return new Outcome(Outcome.Kind.OK, payload.length, received, port(headers.get()));
    } catch (StatusRuntimeException e) {
      Outcome.Kind kind = SERVER_SIDE.contains(e.getStatus().getCode())
          ? Outcome.Kind.SERVER_ERROR : Outcome.Kind.CLIENT_ERROR;
      return new Outcome(kind, payload.length, received, port(headers.get()));
    }
  }

  private static int port(Metadata headers) {
    return headers == null ? 0 : Outcome.port(headers.get(EchoGrpc.PEER_PORT));
  }

  @Override
  public String name() {
    return "grpc-client";
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
