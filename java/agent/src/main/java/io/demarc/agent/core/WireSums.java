package io.demarc.agent.core;

/**
 * Bytes on the wire of one RPC stream, summed by the stream's library as it sends and receives
 * messages (gRPC: a tracer of the stream, see {@link GrpcWire}).
 */
public interface WireSums {
  /** Bytes sent on the stream, or -1 when it was never tied to a stream. */
  long sent();

  /** Bytes received on the stream, or -1 when it was never tied to a stream. */
  long received();
}
