package io.grpc.internal;

import io.demarc.agent.core.WireSums;
import io.grpc.ServerStreamTracer;

/**
 * demarc: a server stream's bytes on the wire, as gRPC reports each message to the stream's
 * tracers. Not loaded from the agent's jar: its bytes are defined into the class loader of the
 * application's gRPC (see {@code io.demarc.agent.core.GrpcWire}).
 */
public final class DemarcServerWire extends ServerStreamTracer implements WireSums {
  // Each direction is written by one thread at a time (gRPC's framer, its deframer); the call's
  // close reads them after gRPC's own hand-offs between those threads.
  private long sent;
  private long received;

  @Override
  public void outboundMessageSent(int seqNo, long optionalWireSize, long optionalUncompressedSize) {
    if (optionalWireSize > 0) sent += optionalWireSize;
  }

  @Override
  public void inboundMessageRead(int seqNo, long optionalWireSize, long optionalUncompressedSize) {
    if (optionalWireSize > 0) received += optionalWireSize;
  }

  @Override
  public long sent() {
    return sent;
  }

  @Override
  public long received() {
    return received;
  }
}
