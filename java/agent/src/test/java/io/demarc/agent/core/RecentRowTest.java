package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The aggregator's per-thread memo of the row added to last ({@link Aggregator#add(String, String,
 * boolean, String, int, String, int, String, String, String, String, long, boolean, long, long)}):
 * a call reuses it only when every field is the same, and a remembered row that was evicted is
 * made again, with no call lost.
 */
class RecentRowTest {
  /** Adds one call of {@code k}'s row through the recorder's path (fields, not a key). */
  private static RowKey add(Aggregator a, RowKey k) {
    return a.add(k.protocol(), k.role(), k.ssl(), k.localIp(), k.localPort(), k.peerIp(), k.peerPort(), k.service(),
        k.method(), k.statusClass(), k.library(), 5, true, 1, -1);
  }

  /** A server row (a client row's empty local IP is filled in at flush time). */
  private static RowKey serverKey(String method, String cls) {
    return new RowKey("http", "server", false, "127.0.0.1", 8080, "127.0.0.1", 0, "", method, cls, "test");
  }

  private static Map<RowKey, Long> requestsByRow(Aggregator a) {
    Map<RowKey, Long> out = new HashMap<>();
    for (Map<String, Object> r : AggregatorTest.rows(a.flush(true))) {
      RowKey k = new RowKey((String) r.get("protocol"), (String) r.get("role"), (Boolean) r.get("ssl"),
          (String) r.get("localIp"), ((Long) r.get("localPort")).intValue(), (String) r.get("peerIp"),
          ((Long) r.get("peerPort")).intValue(), (String) r.get("service"), (String) r.get("method"),
          (String) r.get("statusClass"), (String) r.get("library"));
      out.merge(k, (Long) r.get("requests"), Long::sum);
    }
    return out;
  }

  @Test
  void aCallDifferingInAnyOneFieldFromTheLastGoesToItsOwnRow() {
    RowKey base = new RowKey("dubbo", "server", false, "10.0.0.1", 20880, "10.0.0.2", 0, "demo.Echo", "say", "ok",
        "dubbo-dubbo");
    List<RowKey> variants = List.of(base,
        new RowKey("grpc", "server", false, "10.0.0.1", 20880, "10.0.0.2", 0, "demo.Echo", "say", "ok", "dubbo-dubbo"),
        new RowKey("dubbo", "client", false, "10.0.0.1", 20880, "10.0.0.2", 0, "demo.Echo", "say", "ok", "dubbo-dubbo"),
        new RowKey("dubbo", "server", true, "10.0.0.1", 20880, "10.0.0.2", 0, "demo.Echo", "say", "ok", "dubbo-dubbo"),
        new RowKey("dubbo", "server", false, "10.0.0.9", 20880, "10.0.0.2", 0, "demo.Echo", "say", "ok", "dubbo-dubbo"),
        new RowKey("dubbo", "server", false, "10.0.0.1", 20881, "10.0.0.2", 0, "demo.Echo", "say", "ok", "dubbo-dubbo"),
        new RowKey("dubbo", "server", false, "10.0.0.1", 20880, "10.0.0.9", 0, "demo.Echo", "say", "ok", "dubbo-dubbo"),
        new RowKey("dubbo", "server", false, "10.0.0.1", 20880, "10.0.0.2", 1, "demo.Echo", "say", "ok", "dubbo-dubbo"),
        new RowKey("dubbo", "server", false, "10.0.0.1", 20880, "10.0.0.2", 0, "demo.Other", "say", "ok",
            "dubbo-dubbo"),
        new RowKey("dubbo", "server", false, "10.0.0.1", 20880, "10.0.0.2", 0, "demo.Echo", "hi", "ok", "dubbo-dubbo"),
        new RowKey("dubbo", "server", false, "10.0.0.1", 20880, "10.0.0.2", 0, "demo.Echo", "say",
            StatusClass.SERVER_ERROR, "dubbo-dubbo"),
        new RowKey("dubbo", "server", false, "10.0.0.1", 20880, "10.0.0.2", 0, "demo.Echo", "say", "ok", "dubbo-tri"));
    Aggregator a = new Aggregator(AggregatorTest.BOUNDS, 100);
    // base, variant, base, variant...: each call differs from its thread's last in one field.
    for (int round = 0; round < 3; round++) {
      for (RowKey v : variants) {
        assertEquals(base, add(a, base));
        assertEquals(v, add(a, v));
      }
    }
    Map<RowKey, Long> rows = requestsByRow(a);
    assertEquals(variants.size(), rows.size(), rows.toString());
    assertEquals(3L * (variants.size() + 1), rows.get(base), "base, once per pair and as the first variant");
    for (RowKey v : variants.subList(1, variants.size())) assertEquals(3L, rows.get(v), v.toString());
  }

  @Test
  void equalFieldsInNewStringsFindTheRememberedRow() {
    Aggregator a = new Aggregator(AggregatorTest.BOUNDS, 100);
    RowKey first = add(a, serverKey("GET /", "ok"));
    // A provider decodes its method name from the wire: a new String per call, same row.
    RowKey again = add(a, serverKey(new String("GET /"), new String("ok")));
    assertSame(first, again, "the row's own key, not a new one");
    assertEquals(Map.of(first, 2L), requestsByRow(a));
  }

  @Test
  void aRememberedRowThatWasEvictedIsMadeAgainWithNoCallLost() {
    Aggregator a = new Aggregator(AggregatorTest.BOUNDS, 100);
    RowKey k = serverKey("GET /", "ok");
    add(a, k);
    assertEquals(Map.of(k, 1L), requestsByRow(a));
    for (int i = 0; i < 4; i++) a.flush(true); // idle: evicted (its cell closed) while still remembered
    assertEquals(0, a.size());
    add(a, k);
    add(a, k);
    assertEquals(1, a.size(), "made again in the map");
    assertEquals(Map.of(k, 2L), requestsByRow(a));
  }

  @Test
  void callsPastTheCapGoToTheOverflowRowEveryTime() {
    Aggregator a = new Aggregator(AggregatorTest.BOUNDS, 1);
    add(a, serverKey("GET /a", "ok"));
    for (int i = 0; i < 5; i++) assertNull(add(a, serverKey("GET /b", "ok")), "overflow: no row key");
    Aggregator.Flush f = a.flush(true);
    assertEquals(5, f.overflowedCalls(), "each overflowed call counted, none remembered as a row");
  }
}
