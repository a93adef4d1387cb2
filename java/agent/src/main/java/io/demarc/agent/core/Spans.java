package io.demarc.agent.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sampled spans for l7_rpc_trace: a bounded queue; what does not fit is dropped and counted. The
 * application thread only queues the call's facts; ids, missing addresses (see
 * {@link PeerAddresses}) and the JSON are made on the reporter thread when it drains.
 */
public final class Spans {
  private record Span(RowKey key, int localPort, int peerPort, int status, long startEpochNs, long durationNs,
      String error) {}

  /**
   * Lock-free: the application threads that offer never wait for each other or for the reporter
   * (an ArrayBlockingQueue's lock made offering threads park and wake each other: seen in a
   * Dubbo provider's call path under JFR). {@code queued} bounds it.
   */
  private final ConcurrentLinkedQueue<Span> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final int capacity;
  private final AtomicLong dropped = new AtomicLong();
  private final PeerAddresses addresses;
  private long droppedReported;

  public Spans(int capacity) {
    this(capacity, PeerAddresses.SHARED);
  }

  Spans(int capacity, PeerAddresses addresses) {
    this.capacity = capacity;
    this.addresses = addresses;
  }

  public static boolean sampled(double ratio) {
    return ratio >= 1.0 || (ratio > 0 && ThreadLocalRandom.current().nextDouble() < ratio);
  }

  /**
   * Queues one call. {@code key} is its row's key (whose ephemeral port is 0); the ports here are
   * the connection's own.
   */
  public void offer(RowKey key, int localPort, int peerPort, int status, long startEpochNs, long durationNs,
      Throwable error) {
    if (queued.incrementAndGet() > capacity) {
      queued.decrementAndGet();
      dropped.incrementAndGet();
      return;
    }
    queue.offer(new Span(key, localPort, peerPort, status, startEpochNs, durationNs,
        error == null ? null : error.getClass().getName()));
  }

  private String json(Span s) {
    RowKey k = s.key();
    String peerIp = k.peerIp();
    String localIp = k.localIp();
    if ("client".equals(k.role())) {
      if (peerIp.isEmpty() && "http".equals(k.protocol())) peerIp = addresses.ipOf(k.service()); // the host
      if (localIp.isEmpty()) localIp = addresses.localIpFor(peerIp);
    }
    ThreadLocalRandom r = ThreadLocalRandom.current();
    StringBuilder sb = new StringBuilder(320).append('{');
    Json.key(sb, "traceId").append('"');
    hex(sb, r.nextLong());
    hex(sb, r.nextLong()).append('"');
    Json.key(sb, "spanId").append('"');
    hex(sb, r.nextLong()).append('"');
    Json.key(sb, "startEpochNs").append(s.startEpochNs());
    Json.key(sb, "durationNs").append(s.durationNs());
    Json.key(sb, "protocol");
    Json.string(sb, k.protocol());
    Json.key(sb, "role");
    Json.string(sb, k.role());
    Json.key(sb, "ssl").append(k.ssl());
    Json.key(sb, "localIp");
    Json.string(sb, localIp);
    Json.key(sb, "localPort").append(s.localPort());
    Json.key(sb, "peerIp");
    Json.string(sb, peerIp);
    Json.key(sb, "peerPort").append(s.peerPort());
    Json.key(sb, "service");
    Json.string(sb, k.service());
    Json.key(sb, "method");
    Json.string(sb, k.method());
    Json.key(sb, "status").append(s.status());
    if (s.error() != null) {
      Json.key(sb, "error");
      Json.string(sb, s.error());
    }
    return sb.append('}').toString();
  }

  private static final char[] HEX_DIGITS = "0123456789abcdef".toCharArray();

  /** {@code v} as 16 lowercase hex digits, written in place (no strings per id). */
  private static StringBuilder hex(StringBuilder sb, long v) {
    for (int shift = 60; shift >= 0; shift -= 4) sb.append(HEX_DIGITS[(int) (v >>> shift) & 15]);
    return sb;
  }

  /** The SPANS payload for what was queued, or null when there is nothing to say. */
  public String drain() {
    List<Span> out = new ArrayList<>();
    for (Span s; (s = queue.poll()) != null; ) {
      queued.decrementAndGet();
      out.add(s);
    }
    long d = dropped.get();
    long newDrops = d - droppedReported;
    droppedReported = d;
    if (out.isEmpty() && newDrops == 0) return null;
    StringBuilder sb = new StringBuilder("{\"spans\":[");
    for (int i = 0; i < out.size(); i++) {
      if (i > 0) sb.append(',');
      sb.append(json(out.get(i)));
    }
    return sb.append("],\"droppedSpans\":").append(newDrops).append('}').toString();
  }
}
