package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.agent.dubbo.Dubbo27ChildApp;
import io.demarc.agent.dubbo.DubboChildApp;
import io.demarc.agent.dubbo.Echo;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** Dubbo consumer and provider (3.3 over dubbo and triple, 2.7 over dubbo) in a child JVM, attached at run time. */
class DubboTest {
  static final String CONFIG = "{\"reportPeriodMs\":300}";

  @Test
  void consumerAndProviderCountsMatchTheApplication() throws Exception {
    try (Child app = new Child(DubboChildApp.class.getName(), Support.defaultJdk(), null, Support.log("dubbo"))) {
      assertDubboProtocol(app);
    }
  }

  /**
   * A consumer with three connections to its provider, used in turn: each call is named by the
   * connection that carried it (its span's local port is the peer port the provider saw), so it
   * joins the TCP probe's row of that very connection.
   */
  @Test
  void aConsumerWithSeveralConnectionsNamesTheOneEachCallUsed() throws Exception {
    try (Child app = new Child(DubboChildApp.class.getName(), Support.defaultJdk(), null, Support.log("dubbo-conns"),
        "-Ddemarc.dubbo.connections=3")) {
      assertEachCallNamesItsConnection(app);
    }
  }

  /** The same on Dubbo 2.7.23, whose invoker and client classes differ (the channel's do not). */
  @Test
  void aDubbo27ConsumerWithSeveralConnectionsNamesTheOneEachCallUsed() throws Exception {
    try (Child app = new Child(Dubbo27ChildApp.class.getName(), TestJars.ownClassPath("dubbo27"), Support.defaultJdk(),
        null, Support.log("dubbo27-conns"), "--add-opens=java.base/java.lang=ALL-UNNAMED",
        "-Ddemarc.dubbo.connections=3")) {
      assertEachCallNamesItsConnection(app);
    }
  }

  private static void assertEachCallNamesItsConnection(Child app) throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(),
        "{\"reportPeriodMs\":300,\"trace\":true,\"traceSampleRatio\":1}")) {
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("METRICS");
      assertEquals(30, app.run(30, "hello").ok());
      assertTrue(FakeRunner.await(10_000, () -> spanPorts(runner, "client", "localPort").size() == 30
          && spanPorts(runner, "server", "peerPort").size() == 30), runner.spans.toString());
      java.util.List<Integer> consumerSide = spanPorts(runner, "client", "localPort");
      java.util.List<Integer> providerSide = spanPorts(runner, "server", "peerPort");
      assertTrue(!consumerSide.contains(0), "every call names its connection: " + consumerSide);
      assertEquals(3, new java.util.HashSet<>(consumerSide).size(), consumerSide.toString());
      assertEquals(new java.util.HashSet<>(providerSide), new java.util.HashSet<>(consumerSide));
      // Call by call: the same number of calls went over each connection on both sides.
      java.util.Collections.sort(consumerSide);
      java.util.Collections.sort(providerSide);
      assertEquals(providerSide, consumerSide);
    }
  }

  @SuppressWarnings("unchecked")
  private static java.util.List<Integer> spanPorts(FakeRunner runner, String role, String field) {
    java.util.List<Integer> ports = new java.util.ArrayList<>();
    for (Map<String, Object> frame : runner.spans) {
      for (Object o : (java.util.List<Object>) frame.get("spans")) {
        Map<String, Object> span = (Map<String, Object>) o;
        if ("dubbo".equals(span.get("protocol")) && role.equals(span.get("role"))) {
          ports.add(((Number) span.get(field)).intValue());
        }
      }
    }
    return ports;
  }

  /**
   * Dubbo 2.7.23 on its own class path: the same advice (AbstractInvoker.invoke, the dubbo
   * protocol's reply handler; 2.7's DubboInvoker has its own connection hook) and the same checks.
   */
  @Test
  void dubbo27ConsumerAndProviderCountsMatchTheApplication() throws Exception {
    try (Child app = new Child(Dubbo27ChildApp.class.getName(), TestJars.ownClassPath("dubbo27"), Support.defaultJdk(),
        null, Support.log("dubbo27"), "--add-opens=java.base/java.lang=ALL-UNNAMED")) {
      assertDubboProtocol(app);
    }
  }

  private static void assertDubboProtocol(Child app) throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG)) {
      int port = Integer.parseInt(app.command("ports").split(" ")[1]);
      app.run(5, "before-attach");
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("METRICS");
      Child.Result ok = app.run(30, "hello");
      Child.Result failed = app.run(4, "fail");
      assertEquals(30, ok.ok());
      assertEquals(4, failed.failed(), "the service's exception reaches the consumer");
      String service = Echo.class.getName();
      Predicate<Map<String, Object>> client = r -> "dubbo".equals(r.get("protocol")) && "client".equals(r.get("role"));
      Predicate<Map<String, Object>> server = r -> "dubbo".equals(r.get("protocol")) && "server".equals(r.get("role"));
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", client) >= 34
          && runner.sum("requests", server) >= 34), "client " + runner.rows());
      Thread.sleep(700);

      for (Predicate<Map<String, Object>> side : java.util.List.of(client, server)) {
        assertEquals(34, runner.sum("requests", side), runner.rows().toString());
        assertEquals(34, runner.sum("requests", r -> side.test(r) && service.equals(r.get("service"))
            && "echo".equals(r.get("method"))), runner.rows().toString());
        assertEquals(4, runner.sum("serverErrors", side));
        assertEquals(0, runner.sum("clientErrors", side));
      }
      assertEquals(34, runner.sum("requests", r -> client.test(r) && port == ((Number) r.get("peerPort")).intValue()));
      // Both ends name the same connection, so either joins the TCP probe's row of it.
      Map<String, Object> c = runner.rows().stream().filter(client).findFirst().orElseThrow();
      Map<String, Object> s = runner.rows().stream().filter(server).findFirst().orElseThrow();
      assertEquals(s.get("peerIp"), c.get("localIp"), runner.rows().toString());
      // Rows are keyed by the flow (client ip, server ip, server port): no ephemeral port.
      assertEquals(0L, ((Number) c.get("localPort")).longValue());
      assertEquals(0L, ((Number) s.get("peerPort")).longValue());
      assertEquals(s.get("localIp"), c.get("peerIp"));
      // Dubbo binds the provider to any address and may dial the host's own address instead of
      // 127.0.0.1; the provider reports the connection's real addresses.
      assertEquals(34, runner.sum("requests", r -> server.test(r) && port == ((Number) r.get("localPort")).intValue()
          && !"".equals(r.get("peerIp"))));
      assertTimedBatch(app, runner, client);

      // Calls a provider filter answers or fails itself never reach the service: still measured.
      assertEquals(4, app.run(4, "filtered").failed());
      assertEquals(3, app.run(3, "filtered-throw").failed());
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", server) >= 71
          && runner.sum("requests", client) >= 71), runner.rows().toString());
      Thread.sleep(400);
      for (Predicate<Map<String, Object>> side : java.util.List.of(client, server)) {
        assertEquals(71, runner.sum("requests", side), runner.rows().toString());
        assertEquals(11, runner.sum("serverErrors", side) + runner.sum("clientErrors", side), runner.rows().toString());
      }
      assertEquals(11, runner.sum("serverErrors", server), runner.rows().toString());

      // Bytes received, as Dubbo's count codec noted them: the request's at the provider, the
      // response's at the consumer (the echo answers what it was sent). A message 1,000 ASCII
      // characters longer is 1,000 bytes longer, and a few more for its longer length prefix.
      long[] small = receivedPerCall(app, runner, client, server, 10, "m");
      long[] large = receivedPerCall(app, runner, client, server, 10, "m" + "x".repeat(1000));
      System.out.printf("dubbo bytes received per call: consumer %d then %d, provider %d then %d%n", small[0],
          large[0], small[1], large[1]);
      for (int side = 0; side < 2; side++) {
        String name = side == 0 ? "consumer (response)" : "provider (request)";
        assertTrue(small[side] > 16, name + ": a 16-byte header and a body, got " + small[side]);
        long longer = large[side] - small[side];
        assertTrue(longer >= 1000 && longer <= 1008, name + ": " + small[side] + " then " + large[side] + " bytes");
      }
    }
  }

  /** {consumer, provider} bytes received per call over n calls of {@code message}, from the rows' sums. */
  private static long[] receivedPerCall(Child app, FakeRunner runner, Predicate<Map<String, Object>> client,
      Predicate<Map<String, Object>> server, int n, String message) throws Exception {
    long calls = runner.sum("requests", client);
    long[] before = {known(runner, client), known(runner, server)};
    assertEquals(n, app.run(n, message).ok());
    assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", client) >= calls + n
        && runner.sum("requests", server) >= calls + n), runner.rows().toString());
    return new long[] {(known(runner, client) - before[0]) / n, (known(runner, server) - before[1]) / n};
  }

  /** Bytes received over the rows that knew them (-1: a row none of whose calls did). */
  private static long known(FakeRunner runner, Predicate<Map<String, Object>> side) {
    return runner.rows().stream().filter(side).mapToLong(r -> Math.max(0, ((Number) r.get("bytesReceived")).longValue()))
        .sum();
  }

  /**
   * The triple protocol (HTTP/2): consumer (AbstractInvoker, as for dubbo) and provider (the head
   * of the provider's filter chain) counted, errors classified, latency; calls a provider filter
   * answers itself are counted on both sides.
   */
  @Test
  void tripleConsumerAndProviderCountsMatchTheApplication() throws Exception {
    try (Child app = new Child(DubboChildApp.class.getName(), Support.defaultJdk(), null, Support.log("dubbo-tri"),
             "-Ddemarc.dubbo.protocol=tri");
         FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG)) {
      int port = Integer.parseInt(app.command("ports").split(" ")[1]);
      app.run(5, "before-attach");
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("METRICS");
      assertEquals(30, app.run(30, "hello").ok());
      assertEquals(4, app.run(4, "fail").failed(), "the service's exception reaches the consumer");
      assertEquals(3, app.run(3, "filtered").failed());
      String service = Echo.class.getName();
      Predicate<Map<String, Object>> client = r -> "dubbo".equals(r.get("protocol")) && "client".equals(r.get("role"))
          && "dubbo-tri".equals(r.get("library"));
      Predicate<Map<String, Object>> server = r -> "dubbo".equals(r.get("protocol")) && "server".equals(r.get("role"))
          && "dubbo-tri".equals(r.get("library"));
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", client) >= 37
          && runner.sum("requests", server) >= 37), runner.rows().toString());
      Thread.sleep(700);
      for (Predicate<Map<String, Object>> side : java.util.List.of(client, server)) {
        assertEquals(37, runner.sum("requests", side), runner.rows().toString());
        assertEquals(37, runner.sum("requests", r -> side.test(r) && service.equals(r.get("service"))
            && "echo".equals(r.get("method"))), runner.rows().toString());
        assertEquals(7, runner.sum("serverErrors", side), runner.rows().toString());
        assertEquals(0, runner.sum("clientErrors", side));
      }
      assertEquals(74, runner.sum("requests", r -> true), "no dubbo-protocol row, nothing counted twice: " + runner.rows());
      assertEquals(37, runner.sum("requests", r -> client.test(r) && port == ((Number) r.get("peerPort")).intValue()));
      assertEquals(37, runner.sum("requests", r -> server.test(r) && port == ((Number) r.get("localPort")).intValue()
          && !"".equals(r.get("peerIp")) && ((Number) r.get("peerPort")).intValue() == 0), // keyed like tcp_link
          runner.rows().toString());
      assertTimedBatch(app, runner, client);
      assertEquals(0, runner.total("internalErrors"));
    }
  }

  /**
   * Latency once warmed up (the first calls after a retransformation run deoptimized code): the
   * agent's mean over one more batch of 30 ok calls ("timed") against the application's own.
   */
  static void assertTimedBatch(Child app, FakeRunner runner, Predicate<Map<String, Object>> client) throws Exception {
    Predicate<Map<String, Object>> okClient = r -> client.test(r) && "ok".equals(r.get("statusClass"));
    MeanCheck.assertAgrees(runner, okClient, 30, 0, () -> app.run(30, "timed"));
  }
}
