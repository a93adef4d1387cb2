package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * HTTP client calls last until the application has the body, not just the head: the JDK server
 * sends the head at once and the body 50 ms later, and every library's recorded latency must
 * include those 50 ms (and match the application's own mean). A call whose body is never read
 * nor closed is still recorded, after the (here shortened) body timeout.
 */
class BodyLatencyTest {
  static final String CONFIG = "{\"reportPeriodMs\":200,\"metrics\":true,\"bytes\":true,\"trace\":false,"
      + "\"cardinalityCap\":500,\"latencyBoundsNs\":[1000000,10000000,50000000,100000000,1000000000]}";
  static final long DELAY_NS = 50_000_000L;

  static Stream<Path> jdks() {
    return Support.jdks().stream();
  }

  @ParameterizedTest(name = "latency includes the body on {0}")
  @MethodSource("jdks")
  void latencyIncludesTheBody(Path java) throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG);
         Child app = new Child(ChildApp.class.getName(), java, Support.keystore(),
             Support.log("body-latency"), "-Ddemarc.child.light=true")) {
      app.run("urlconn", 3, "/echo");
      app.run("okhttp", 3, "/echo");
      app.run("apache", 3, "/echo");
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("first METRICS after CONFIG");
      // Calls right after the retransformation run cold code: warm up, then time.
      for (String lib : new String[] {"urlconn", "urlconn-https", "okhttp", "okhttp-async", "apache"}) {
        app.run(lib, 5, "/echo");
      }
      assertBody(runner, r -> slow("httpurlconnection", "/slow/50").test(r) && !Boolean.TRUE.equals(r.get("ssl")),
          () -> app.run("urlconn", 10, "/slow/50"));
      assertBody(runner, r -> slow("httpurlconnection", "/slow/50").test(r) && Boolean.TRUE.equals(r.get("ssl")),
          () -> app.run("urlconn-https", 10, "/slow/50"));
      assertBody(runner, slow("okhttp", "/slow/50"), () -> app.run("okhttp", 10, "/slow/50"));
      assertBody(runner, slow("okhttp", "/slow/51"), () -> app.run("okhttp-async", 10, "/slow/51"));
      assertBody(runner, slow("apache-httpclient5", "/slow/50"), () -> app.run("apache", 10, "/slow/50"));
      // Request body bytes of HttpURLConnection (fixed-length streaming).
      assertEquals(8, app.run("urlconn-post", 8, "/echo").ok());
      Predicate<Map<String, Object>> post = r -> AgentAttachTest.is(r, "httpurlconnection", "client")
          && "POST /echo".equals(r.get("method"));
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", post) >= 8), runner.rows().toString());
      assertEquals(24, runner.sum("bytesSent", post), runner.rows().toString());
      assertEquals(40, runner.sum("bytesReceived", post), runner.rows().toString());
      // A POST's call starts when the connection does (getOutputStream), not at getInputStream.
      Predicate<Map<String, Object>> waited = r -> AgentAttachTest.is(r, "httpurlconnection", "client")
          && "POST /wait/3".equals(r.get("method"));
      MeanCheck.assertAgrees(runner, waited, 20, 3_000_000L, () -> app.run("urlconn-post", 20, "/wait/3"));
      assertEquals(0, runner.total("internalErrors"), "no internal errors");
    }
  }

  @Test
  void bodiesNeverReadAreRecordedAfterTheTimeout() throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG);
         Child app = new Child(ChildApp.class.getName(), Support.defaultJdk(), null,
             Support.log("body-timeout"), "-Ddemarc.child.light=true", "-Ddemarc.agent.bodyTimeoutMs=600")) {
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("first METRICS after CONFIG");
      assertEquals(3, app.run("urlconn-noread", 3, "/slow/20").ok());
      assertEquals(3, app.run("okhttp-noclose", 3, "/slow/20").ok());
      assertEquals(2, app.run("apache-noclose", 2, "/slow/20").ok()); // each holds a pooled connection
      Predicate<Map<String, Object>> any = r -> "GET /slow/20".equals(r.get("method"));
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", any) >= 8), runner.rows().toString());
      Thread.sleep(500);
      assertEquals(3, runner.sum("requests", slow("httpurlconnection", "/slow/20")));
      assertEquals(3, runner.sum("requests", slow("okhttp", "/slow/20")));
      assertEquals(2, runner.sum("requests", slow("apache-httpclient5", "/slow/20")));
      // Recorded up to the response head: far less than the time they waited.
      assertTrue(runner.sum("latencySumNs", any) / 8 < 500_000_000L, runner.rows().toString());
      assertEquals(0, runner.total("internalErrors"), "no internal errors");
    }
  }

  static Predicate<Map<String, Object>> slow(String library, String path) {
    return r -> AgentAttachTest.is(r, library, "client") && ("GET " + path).equals(r.get("method"));
  }

  /** A batch of 10 calls to a /slow path: exact counts, and a mean that includes the body's delay. */
  static void assertBody(FakeRunner runner, Predicate<Map<String, Object>> rows, MeanCheck.Batch batch)
      throws Exception {
    assertBody(runner, rows, 10, batch);
  }

  static void assertBody(FakeRunner runner, Predicate<Map<String, Object>> rows, int n, MeanCheck.Batch batch)
      throws Exception {
    MeanCheck.assertAgrees(runner, rows, n, DELAY_NS, batch);
  }
}
