package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A real attach into a child JVM running real servers and clients of every HTTP library and
 * gRPC: the agent's counts must equal the application's own, errors classified, TLS marked.
 */
class AgentAttachTest {
  static final String CONFIG = "{\"reportPeriodMs\":300,\"metrics\":true,\"bytes\":true,\"trace\":true,"
      + "\"traceSampleRatio\":1.0,\"cardinalityCap\":500,"
      + "\"latencyBoundsNs\":[1000000,5000000,10000000,50000000,100000000,1000000000]}";
  static Path keystore;

  @BeforeAll
  static void setUp() throws Exception {
    keystore = Support.keystore();
  }

  static Stream<Path> jdks() {
    return Support.jdks().stream();
  }

  @ParameterizedTest(name = "counts after attach equal the application's own counts on {0}")
  @MethodSource("jdks")
  void countsMatchTheApplication(Path java) throws Exception {
    try (Child app = new Child(java, keystore, Support.log("counts"));
         FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG)) {
      String[] p = app.command("ports").split(" ");
      int http = Integer.parseInt(p[1]);
      int https = Integer.parseInt(p[2]);
      int tomcat = Integer.parseInt(p[3]);
      int grpc = Integer.parseInt(p[4]);
      int grpcTls = Integer.parseInt(p[5]);
      int jetty = Integer.parseInt(p[6]);
      app.run("jdkclient", 5, "/echo"); // before attach: must not be counted
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("first METRICS after CONFIG");

      app.run("jdkclient", 20, "/echo");
      app.run("jdkclient-async", 20, "/echo");
      app.run("jdkclient", 5, "/status/404");
      app.run("jdkclient", 5, "/status/503");
      app.run("jdkclient-https", 10, "/echo");
      app.run("urlconn", 20, "/echo");
      app.run("urlconn", 4, "/status/404");
      app.run("urlconn-https", 10, "/echo");
      app.run("okhttp", 20, "/echo");
      app.run("okhttp-async", 20, "/echo");
      app.run("apache", 20, "/echo");
      app.run("apache", 3, "/status/500");
      app.run("servlet", 20, "/api/echo");
      app.run("servlet", 5, "/api/status/500");
      app.run("okhttp", 12, "/j/item/7"); // Jetty 12 (ee11)
      app.run("grpc-unary", 20, "hello");
      app.run("grpc-stream", 10, "x");
      Child.Result bad = app.run("grpc-unary", 4, "bad");
      app.run("grpc-unary", 3, "boom");
      assertEquals(6, app.run("grpc-tls", 6, "secure").ok());
      assertEquals(4, bad.failed(), "the app sees the gRPC errors");

      Predicate<Map<String, Object>> jdkHttp = r -> is(r, "jdk-httpclient", "client") && port(r, "peerPort") == http;
      // Server rows: 20+20+5+5 (jdk client) + 24 (urlconn) + 40 (okhttp) + 23 (apache) = 137.
      Predicate<Map<String, Object>> jdkServer = r -> is(r, "jdk-httpserver", "server") && port(r, "localPort") == http;
      assertTrue(FakeRunner.await(15_000, () -> runner.sum("requests", jdkServer) >= 137
          && runner.sum("requests", r -> is(r, "grpc-java", "server")) >= 43), "all calls reported");
      Thread.sleep(700); // one more period: nothing extra may arrive

      assertEquals(50, runner.sum("requests", jdkHttp));
      assertEquals(5, runner.sum("clientErrors", jdkHttp));
      assertEquals(5, runner.sum("serverErrors", jdkHttp));
      assertEquals(10, runner.sum("requests", r -> is(r, "jdk-httpclient", "client") && port(r, "peerPort") == https
          && Boolean.TRUE.equals(r.get("ssl"))));
      assertEquals(24, runner.sum("requests", r -> is(r, "httpurlconnection", "client") && port(r, "peerPort") == http));
      assertEquals(4, runner.sum("clientErrors", r -> is(r, "httpurlconnection", "client")));
      assertEquals(10, runner.sum("requests", r -> is(r, "httpurlconnection", "client")
          && port(r, "peerPort") == https && Boolean.TRUE.equals(r.get("ssl"))));
      assertEquals(40, runner.sum("requests", r -> is(r, "okhttp", "client") && port(r, "peerPort") == http));
      assertEquals(23, runner.sum("requests", r -> is(r, "apache-httpclient5", "client")));
      assertEquals(3, runner.sum("serverErrors", r -> is(r, "apache-httpclient5", "client")));
      assertEquals(137, runner.sum("requests", jdkServer));
      // Body bytes where the library knows them: every answer here is "hello" (5 bytes).
      assertEquals(5 * runner.sum("requests", r -> jdkServer.test(r) && "ok".equals(r.get("statusClass"))),
          runner.sum("bytesSent", r -> jdkServer.test(r) && "ok".equals(r.get("statusClass"))));
      assertEquals(5 * (40 + 12), runner.sum("bytesReceived", r -> is(r, "okhttp", "client")));
      assertEquals(0, runner.sum("bytesSent", r -> is(r, "okhttp", "client")), "GETs send no body");
      assertEquals(5 * 23, runner.sum("bytesReceived", r -> is(r, "apache-httpclient5", "client")));
      assertEquals(20, runner.sum("requests", r -> is(r, "jdk-httpserver", "server") && port(r, "localPort") == https
          && Boolean.TRUE.equals(r.get("ssl"))));
      assertEquals(25, runner.sum("requests", r -> is(r, "servlet", "server") && "GET /api/*".equals(r.get("method"))
          && port(r, "localPort") == tomcat));
      assertEquals(5, runner.sum("serverErrors", r -> is(r, "servlet", "server")));
      assertEquals(12, runner.sum("requests", r -> is(r, "servlet", "server") && "GET /j/*".equals(r.get("method"))
          && port(r, "localPort") == jetty));
      assertEquals(12, runner.sum("requests", r -> is(r, "okhttp", "client") && port(r, "peerPort") == jetty));
      assertEquals(25, runner.sum("requests", r -> is(r, "jdk-httpclient", "client") && port(r, "peerPort") == tomcat));
      for (String role : new String[] {"client", "server"}) {
        assertEquals(6, runner.sum("requests", r -> is(r, "grpc-java", role) && Boolean.TRUE.equals(r.get("ssl"))
            && port(r, "client".equals(role) ? "peerPort" : "localPort") == grpcTls), "gRPC over TLS, " + role);
        Predicate<Map<String, Object>> g = r -> is(r, "grpc-java", role) && !Boolean.TRUE.equals(r.get("ssl"));
        assertEquals(37, runner.sum("requests", g), role);
        assertEquals(20 + 4 + 3, runner.sum("requests", r -> g.test(r) && "Say".equals(r.get("method"))
            && "demo.Echo".equals(r.get("service"))), role);
        assertEquals(10, runner.sum("requests", r -> g.test(r) && "Count".equals(r.get("method"))), role);
        assertEquals(4, runner.sum("clientErrors", g), role);
        assertEquals(3, runner.sum("serverErrors", g), role);
      }
      // The gRPC stream classes are defined from bytes kept before the core jar's file was deleted.
      for (String role : new String[] {"client", "server"}) {
        assertTrue(runner.sum("bytesSent", r -> is(r, "grpc-java", role) && "Say".equals(r.get("method"))) > 0,
            "gRPC bytes counted, " + role);
      }
      try (Stream<Path> left = Files.list(app.tmpDir())) {
        assertEquals(List.of(), left.map(f -> f.getFileName().toString())
            .filter(n -> n.startsWith("demarc-core-")).toList(), "the core jar's file is gone once the VM opened it");
      }
      assertEquals(37, runner.sum("requests", r -> is(r, "grpc-java", "client") && port(r, "peerPort") == grpc
          && "127.0.0.1".equals(r.get("peerIp")) && "127.0.0.1".equals(r.get("localIp")) && port(r, "localPort") == 0));

      // Latency, warmed up now (the first calls after a retransformation run deoptimized code): the
      // agent's mean is within 5% or 1 ms of what the application measured. OkHttp against Tomcat
      // (head and body in one write); BodyLatencyTest times a body that comes later than its head.
      MeanCheck.assertAgrees(runner, r -> jdkHttp.test(r) && "GET /timed".equals(r.get("method")), 30, 0,
          () -> app.run("jdkclient", 30, "/timed"));
      MeanCheck.assertAgrees(runner, r -> is(r, "okhttp", "client") && "GET /api/timed".equals(r.get("method")), 30, 0,
          () -> app.run("okhttp", 30, "/api/timed"));

      long histogram = 0;
      for (Map<String, Object> r : runner.rows()) {
        long n = 0;
        for (Object c : (java.util.List<?>) r.get("latencyCounts")) n += ((Number) c).longValue();
        assertEquals(((Number) r.get("requests")).longValue(), n, "histogram counts add up to requests: " + r);
        assertEquals(7, ((java.util.List<?>) r.get("latencyCounts")).size());
        histogram += n;
      }
      assertTrue(histogram > 0);
      assertTrue(FakeRunner.await(3000, () -> !runner.spans.isEmpty()), "sampled spans arrive");
      assertEquals(0, runner.total("internalErrors"), "no internal errors");
      Map<String, Object> hello = runner.hellos.get(0);
      assertEquals(TestJars.VERSION, hello.get("agentVersion"));
      assertEquals(app.pid(), ((Number) hello.get("pid")).longValue());
    }
  }

  static boolean is(Map<String, Object> r, String library, String role) {
    return library.equals(r.get("library")) && role.equals(r.get("role"));
  }

  static long port(Map<String, Object> r, String field) {
    return ((Number) r.get(field)).longValue();
  }

  static boolean exists(Path p) {
    return Files.exists(p);
  }
}
