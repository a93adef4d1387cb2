package io.grpc.internal;

import io.demarc.agent.core.WireSums;
import io.grpc.ClientStreamTracer;

/**
 * demarc: a client stream's bytes on the wire, as gRPC reports each message to the stream's
 * tracers. Made when its call starts, tied to the stream made inside that start (if any). Defined
 * into the class loader of the application's gRPC (see {@code io.demarc.agent.core.GrpcWire}).
 */
public final class DemarcClientWire extends ClientStreamTracer implements WireSums {
  private long sent;
  private long received;
  /** Set on the call's thread before the stream exists; read at its close, after gRPC's hand-offs. */
  boolean tied;

  @Override
  public void outboundMessageSent(int seqNo, long optionalWireSize, long optionalUncompressedSize) {
    if (optionalWireSize > 0) sent += optionalWireSize;
  }

  @Override
  public void inboundMessageRead(int seqNo, long optionalWireSize, long optionalUncompressedSize) {
    if (optionalWireSize > 0) received += optionalWireSize;
  }

  /** A client call's start is kept with the call ({@code InFlight}), which these sums are found by. */
  @Override
  public long takeStartNs() {
    return 0;
  }

  @Override
  public long sent() {
    return tied ? sent : -1;
  }

  @Override
  public long received() {
    return tied ? received : -1;
  }
}
