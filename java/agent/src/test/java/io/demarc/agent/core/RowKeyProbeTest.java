package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The per-thread probe finds the rows RowKeys made, and rows it makes are ordinary rows. */
class RowKeyProbeTest {
  static RowKeyProbe probe(String method, String cls) {
    return new RowKeyProbe().set("http", "client", false, "", 0, "127.0.0.1", 80, "h", method, cls, "test");
  }

  @Test
  void aProbeHashesAndEqualsLikeTheKeyWithTheSameFields() {
    RowKey k = AggregatorTest.key("GET /", "ok");
    RowKeyProbe p = probe(new String("GET /"), "ok");
    assertEquals(k.hashCode(), p.hashCode());
    assertTrue(p.equals(k));
    assertEquals(k, p.toKey());
    assertTrue(!probe("GET /x", "ok").equals(k));
    assertTrue(!probe("GET /", StatusClass.SERVER_ERROR).equals(k));
    assertNotEquals(k, new RowKey("http", "client", true, "", 0, "127.0.0.1", 80, "h", "GET /", "ok", "test"));
  }

  @Test
  void probeAndKeyCallsLandInOneRowAndTheCapStillFoldsNewOnes() {
    Aggregator a = new Aggregator(AggregatorTest.BOUNDS, 2);
    a.add(AggregatorTest.key("GET /", "ok"), 1, true, 5, 7);
    a.add(probe("GET /", "ok"), 1, true, 5, -1);
    a.add(probe("GET /b", "ok"), 1, true, -1, -1); // a new row, made from the probe
    a.add(probe("GET /c", "ok"), 1, true, -1, -1); // past the cap
    assertEquals(2, a.size());
    Aggregator.Flush f = a.flush(true);
    List<Map<String, Object>> rows = AggregatorTest.rows(f);
    assertEquals(3, rows.size());
    assertEquals(1, f.overflowedCalls());
    for (Map<String, Object> r : rows) {
      switch ((String) r.get("method")) {
        case "GET /" -> {
          assertEquals(2L, r.get("requests"));
          assertEquals(10L, r.get("bytesSent"));
          assertEquals(7L, r.get("bytesReceived"), "known for one of the two calls");
        }
        case "GET /b" -> {
          assertEquals(1L, r.get("requests"));
          assertEquals(-1L, r.get("bytesSent"), "known for none");
        }
        default -> assertEquals("overflow", r.get("service"));
      }
    }
  }

  /** After a call the thread's probe holds none of its strings (it outlives a detach). */
  @Test
  void aRecordedCallLeavesNoStringInTheThreadsProbe() {
    Recorder.activate(true);
    try {
      Recorder.record("http", "server", false, "127.0.0.1", 80, "127.0.0.1", 5000, "svc",
          Recorder.httpMethod("GET", "/kept"), 200, StatusClass.OK, true, Recorder.start(), 1, -1, "t", null);
      RowKeyProbe p = RowKeyProbe.acquire(); // the same thread's probe: not in use any more
      try {
        for (String s : new String[] {p.protocol, p.role, p.localIp, p.peerIp, p.service, p.method, p.statusClass,
            p.library}) {
          assertNull(s);
        }
      } finally {
        p.release();
      }
    } finally {
      Recorder.activate(false);
      Recorder.reset();
    }
  }

  /** Writers through Recorder (probes) while rows are evicted and made again: every count arrives. */
  @Test
  void recordedCallsLoseNoCountAcrossEvictions() throws Exception {
    Recorder.configure(Config.parse("{\"latencyBoundsNs\":[1000,1000000]}"));
    Recorder.activate(true);
    try {
      int threads = 4;
      int perThread = 50_000;
      long[] sums = new long[3]; // requests, latency counts, bytes sent
      FlushWhileWriting.run(() -> Recorder.flush(true), threads, perThread,
          (id, i) -> Recorder.record("http", "server", false, "127.0.0.1", 80, "127.0.0.1", 5000 + id, "",
              Recorder.httpMethod("GET", "/" + (i % 3)), 200, StatusClass.OK, true, Recorder.start(), 1, -1, "t",
              null),
          r -> {
            sums[0] += (Long) r.get("requests");
            for (Object c : (List<?>) r.get("latencyCounts")) sums[1] += (Long) c;
            sums[2] += (Long) r.get("bytesSent"); // every call knew its bytes: never -1
          });
      long requests = sums[0];
      long latencyCounts = sums[1];
      long bytes = sums[2];
      assertEquals((long) threads * perThread, requests);
      assertEquals((long) threads * perThread, latencyCounts, "every call's last add (its bucket) arrived");
      assertEquals((long) threads * perThread, bytes);
    } finally {
      Recorder.activate(false);
      Recorder.reset();
    }
  }
}
