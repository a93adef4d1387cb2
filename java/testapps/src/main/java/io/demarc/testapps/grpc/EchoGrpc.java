package io.demarc.testapps.grpc;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * The echo service's gRPC methods, declared by hand with a raw-bytes marshaller (no protoc step):
 * on the wire they are ordinary gRPC calls to {@code demarc.testapps.Echo/Echo} and
 * {@code demarc.testapps.Echo/EchoStream}.
 */
public final class EchoGrpc {
  public static final String SERVICE = "demarc.testapps.Echo";
  /** How many messages {@code EchoStream} answers with, each the request payload. */
  public static final int STREAM_MESSAGES = 3;
  /** Response header in which the server tells the client its own port. */
  public static final Metadata.Key<String> PEER_PORT =
      Metadata.Key.of("x-demarc-peer-port", Metadata.ASCII_STRING_MARSHALLER);

  private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  public static final MethodDescriptor<byte[], byte[]> ECHO = method("Echo", MethodDescriptor.MethodType.UNARY);
  public static final MethodDescriptor<byte[], byte[]> ECHO_STREAM =
      method("EchoStream", MethodDescriptor.MethodType.SERVER_STREAMING);

  private EchoGrpc() {}

  private static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(BYTES)
        .setResponseMarshaller(BYTES)
        .build();
  }
}
