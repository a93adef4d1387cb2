package io.demarc.agent.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/** Sampled spans for l7_rpc_trace: a bounded queue; what does not fit is dropped and counted. */
public final class Spans {
  private final ArrayBlockingQueue<String> queue;
  private final AtomicLong dropped = new AtomicLong();
  private long droppedReported;

  public Spans(int capacity) {
    queue = new ArrayBlockingQueue<>(capacity);
  }

  public static boolean sampled(double ratio) {
    return ratio >= 1.0 || (ratio > 0 && ThreadLocalRandom.current().nextDouble() < ratio);
  }

  public void offer(RowKey k, int status, long startEpochNs, long durationNs, Throwable error) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    StringBuilder sb = new StringBuilder(320).append('{');
    Json.key(sb, "traceId");
    Json.string(sb, hex(r.nextLong()) + hex(r.nextLong()));
    Json.key(sb, "spanId");
    Json.string(sb, hex(r.nextLong()));
    Json.key(sb, "startEpochNs").append(startEpochNs);
    Json.key(sb, "durationNs").append(durationNs);
    Json.key(sb, "protocol");
    Json.string(sb, k.protocol());
    Json.key(sb, "role");
    Json.string(sb, k.role());
    Json.key(sb, "ssl").append(k.ssl());
    Json.key(sb, "localIp");
    Json.string(sb, k.localIp());
    Json.key(sb, "localPort").append(k.localPort());
    Json.key(sb, "peerIp");
    Json.string(sb, k.peerIp());
    Json.key(sb, "peerPort").append(k.peerPort());
    Json.key(sb, "service");
    Json.string(sb, k.service());
    Json.key(sb, "method");
    Json.string(sb, k.method());
    Json.key(sb, "status").append(status);
    if (error != null) {
      Json.key(sb, "error");
      Json.string(sb, error.getClass().getName());
    }
    sb.append('}');
    if (!queue.offer(sb.toString())) dropped.incrementAndGet();
  }

  private static String hex(long v) {
    String h = Long.toHexString(v);
    return "0".repeat(16 - h.length()) + h;
  }

  /** The SPANS payload for what was queued, or null when there is nothing to say. */
  public String drain() {
    List<String> out = new ArrayList<>();
    queue.drainTo(out);
    long d = dropped.get();
    long newDrops = d - droppedReported;
    droppedReported = d;
    if (out.isEmpty() && newDrops == 0) return null;
    StringBuilder sb = new StringBuilder("{\"spans\":[");
    for (int i = 0; i < out.size(); i++) {
      if (i > 0) sb.append(',');
      sb.append(out.get(i));
    }
    return sb.append("],\"droppedSpans\":").append(newDrops).append('}').toString();
  }
}
