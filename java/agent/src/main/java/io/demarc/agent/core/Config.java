package io.demarc.agent.core;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The runner's CONFIG frame (PROTOCOL.md), with the defaults used until one arrives. */
public record Config(long reportPeriodMs, boolean metrics, boolean bytes, boolean trace, double traceSampleRatio,
    int cardinalityCap, long[] latencyBoundsNs, Set<String> disabled) {

  public static final Config DEFAULT = new Config(60_000, true, true, false, 0.0, 1000,
      new long[] {1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000, 500_000_000, 1_000_000_000,
          5_000_000_000L}, Set.of());

  /** Parses a CONFIG payload; absent keys keep their defaults, bad values throw. */
  public static Config parse(String json) {
    Object o = Json.parse(json);
    if (!(o instanceof Map<?, ?> m)) throw new IllegalArgumentException("CONFIG is not an object");
    Config d = DEFAULT;
    long period = num(m, "reportPeriodMs", d.reportPeriodMs);
    if (period < 100) throw new IllegalArgumentException("reportPeriodMs must be >= 100");
    double ratio = m.get("traceSampleRatio") instanceof Number n ? n.doubleValue() : d.traceSampleRatio;
    if (ratio < 0 || ratio > 1) throw new IllegalArgumentException("traceSampleRatio must be in 0..1");
    long cap = num(m, "cardinalityCap", d.cardinalityCap);
    if (cap < 1) throw new IllegalArgumentException("cardinalityCap must be >= 1");
    long[] bounds = d.latencyBoundsNs;
    if (m.get("latencyBoundsNs") instanceof List<?> l) {
      bounds = new long[l.size()];
      for (int i = 0; i < bounds.length; i++) {
        bounds[i] = ((Number) l.get(i)).longValue();
        if (i > 0 && bounds[i] <= bounds[i - 1]) throw new IllegalArgumentException("latencyBoundsNs must ascend");
      }
    }
    // Instrumentation names (probe.yaml's attach list); names this agent does not have are ignored.
    Set<String> disabled = d.disabled;
    if (m.get("disabled") instanceof List<?> l) {
      TreeSet<String> s = new TreeSet<>();
      for (Object o2 : l) {
        if (!(o2 instanceof String name)) throw new IllegalArgumentException("disabled must hold strings");
        s.add(name);
      }
      disabled = Set.copyOf(s);
    }
    return new Config(period, bool(m, "metrics", d.metrics), bool(m, "bytes", d.bytes), bool(m, "trace", d.trace),
        ratio, (int) Math.min(cap, 1_000_000), bounds, disabled);
  }

  private static long num(Map<?, ?> m, String k, long dflt) {
    return m.get(k) instanceof Number n ? n.longValue() : dflt;
  }

  private static boolean bool(Map<?, ?> m, String k, boolean dflt) {
    return m.get(k) instanceof Boolean b ? b : dflt;
  }
}
