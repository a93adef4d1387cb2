package io.grpc.internal;

import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.WireSums;
import io.grpc.ServerStreamTracer;

/**
 * demarc: a server stream's call start and bytes on the wire, as gRPC reports them to the stream's
 * tracers. Not loaded from the agent's jar: its bytes are defined into the class loader of the
 * application's gRPC (see {@code io.demarc.agent.core.GrpcWire}).
 */
public final class DemarcServerWire extends ServerStreamTracer implements WireSums {
  // Each direction is written by one thread at a time (gRPC's framer, its deframer); the call's
  // close reads them after gRPC's own hand-offs between those threads.
  private long sent;
  private long received;
  /** Written on the thread that starts the call, read at its close after gRPC's hand-offs. */
  private long start;

  /** Called by gRPC on the application's call path: nothing of the agent's may throw into it. */
  @Override
  public void serverCallStarted(ServerCallInfo<?, ?> callInfo) {
    try {
      start = Recorder.start();
    } catch (Throwable e) {
      Recorder.internalError(e);
    }
  }

  @Override
  public void outboundMessageSent(int seqNo, long optionalWireSize, long optionalUncompressedSize) {
    if (optionalWireSize > 0) sent += optionalWireSize;
  }

  @Override
  public void inboundMessageRead(int seqNo, long optionalWireSize, long optionalUncompressedSize) {
    if (optionalWireSize > 0) received += optionalWireSize;
  }

  @Override
  public long takeStartNs() {
    long t = start;
    start = 0;
    return t;
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
