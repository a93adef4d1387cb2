package io.demarc.agent.core;

/**
 * Bytes on the wire of one RPC stream, summed by the stream's library as it sends and receives
 * messages (gRPC: a tracer of the stream, see {@link GrpcWire}); for a server stream also when its
 * call began.
 */
public interface WireSums {
  /**
   * When the server call of the stream began ({@link Recorder#start}), forgotten, so that a call
   * closed twice is recorded once; 0 when taken already, not measured, or a client's.
   */
  long takeStartNs();

  /** Bytes sent on the stream, or -1 when it was never tied to a stream. */
  long sent();

  /** Bytes received on the stream, or -1 when it was never tied to a stream. */
  long received();
}
