package io.demarc.agent.core;

/**
 * What the agent needs of gRPC-java's stream internals, implemented by a class the agent defines
 * in gRPC's own package and class loader ({@link GrpcWire}): there it may call the package-private
 * constructor of {@code StatsTraceContext} and read its tracers, and its tracer classes extend
 * gRPC's. Arguments and results are gRPC's types, passed as Object because this interface is on
 * the boot class path, where gRPC is not.
 */
public interface GrpcStreams {
  /**
   * A server stream's context like {@code context} (gRPC's shared no-op one, or one with the
   * server's tracers) with the agent's tracer added (its call's start and bytes), a new one per
   * stream.
   */
  Object countedServerContext(Object context);

  /** The agent's tracer in a context made by {@link #countedServerContext}, or null for any other. */
  WireSums serverSums(Object context);

  /** A byte-counting tracer for a client stream, not yet tied to one ({@link WireSums} gives -1). */
  WireSums newClientSums();

  /**
   * {@code tracers} (a client stream's, {@code ClientStreamTracer[]}) with {@code sums} (from
   * {@link #newClientSums}) added at the end, which ties them to the stream made with them.
   */
  Object[] withClientSums(Object[] tracers, WireSums sums);
}
