package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.agent.servlet.TomcatJavaxApp;
import io.demarc.agent.spring.SpringBootApp;
import io.demarc.agent.spring3.SpringBoot3App;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * javax.servlet containers, each child JVM on its own class path: embedded Tomcat 9 with a plain
 * servlet (route = the servlet mapping), and a Spring Boot 2.7 app on its embedded Tomcat 9 with
 * a {@code @RestController} (route = the path template); and the same app on Spring Boot 3
 * (jakarta). Counts equal the client's, errors are classified, latency matches the server's
 * own, and the other package's hook stays off.
 */
class JavaxServletTest {
  static final Predicate<Map<String, Object>> SERVER = r -> AgentAttachTest.is(r, "servlet-javax", "server");

  @Test
  void embeddedTomcat9() throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), BodyLatencyTest.CONFIG);
         Child app = new Child(TomcatJavaxApp.class.getName(), TestJars.ownClassPath("tomcat9"), Support.defaultJdk(),
             null, Support.log("tomcat9"))) {
      int port = Integer.parseInt(app.command("ports").split(" ")[1]);
      app.run(5, "/api/echo");
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("METRICS");
      assertEquals(20, app.run(20, "/api/echo").ok());
      app.run(3, "/api/status/404");
      app.run(2, "/api/status/503");
      assertEquals(2, app.run(2, "/api/boom").ok(), "Tomcat answers 500 for the exception");
      app.run(10, "/api/wait/5"); // warm up the retransformed code before timing
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", SERVER) >= 37), runner.rows().toString());
      Thread.sleep(500);
      assertEquals(37, runner.sum("requests", SERVER), runner.rows().toString());
      assertEquals(37, runner.sum("requests", r -> SERVER.test(r) && "GET /api/*".equals(r.get("method"))
          && AgentAttachTest.port(r, "localPort") == port && "127.0.0.1".equals(r.get("peerIp"))
          && AgentAttachTest.port(r, "peerPort") == 0), // rows are keyed like tcp_link: no client port
          runner.rows().toString());
      assertEquals(3, runner.sum("clientErrors", SERVER));
      assertEquals(4, runner.sum("serverErrors", SERVER));
      assertEquals(0, runner.sum("requests", r -> AgentAttachTest.is(r, "servlet", "server")), "jakarta hook off");
      assertTimed(app, runner, "/api/wait/30", r -> SERVER.test(r) && "GET /api/*".equals(r.get("method")));
      assertEquals(0, runner.total("internalErrors"));
    }
  }

  /**
   * Rows carry the route, not the path, so the timed batch's mean on the server is the difference
   * of the row's latency sum over the batch (as DubboTest does), compared with the server's own
   * mean ({@code ServerClock}). The client's own mean also holds the JDK HttpClient's hand-over
   * between its threads, several ms on a loaded 2-core box (AgentAttachTest covers that client).
   */
  static void assertTimed(Child app, FakeRunner runner, String path, Predicate<Map<String, Object>> route)
      throws Exception {
    Thread.sleep(600); // earlier calls reported first
    Predicate<Map<String, Object>> ok = r -> route.test(r) && "ok".equals(r.get("statusClass"));
    long count = runner.sum("requests", ok);
    long sum = runner.sum("latencySumNs", ok);
    app.command("server");
    Child.Result timed = app.run(20, path);
    assertEquals(20, timed.ok());
    // The server's clock stops when its filter's chain returns, which can be after the client got
    // its answer (seen once: 19 of 20 in the first report): its reports are summed until all 20
    // calls are in.
    long serverCalls = 0, serverNanos = 0;
    for (long until = System.nanoTime() + 5_000_000_000L; serverCalls < 20 && System.nanoTime() < until; ) {
      String[] server = app.command("server").split(" ");
      long n = Long.parseLong(server[1]);
      serverCalls += n;
      serverNanos += n * Long.parseLong(server[2]);
      if (serverCalls < 20) Thread.sleep(20);
    }
    assertEquals(20, serverCalls, "calls the server's own clock timed");
    long serverMean = serverNanos / serverCalls;
    assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", ok) >= count + 20), runner.rows().toString());
    Thread.sleep(500);
    assertEquals(count + 20, runner.sum("requests", ok));
    long agentMean = (runner.sum("latencySumNs", ok) - sum) / 20;
    assertTrue(Math.abs(agentMean - serverMean) <= Math.max(1_000_000, serverMean / 20),
        "agent mean " + agentMean + " ns vs the server's own mean " + serverMean + " ns");
  }

  @Test
  void springBoot2RestController() throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), BodyLatencyTest.CONFIG);
         Child app = new Child(SpringBootApp.class.getName(), TestJars.ownClassPath("springboot2"),
             Support.defaultJdk(), null, Support.log("springboot2"))) {
      assertUsersRoute(app, runner, SERVER);
    }
  }

  /**
   * Spring Boot 3.5 (jakarta.servlet, embedded Tomcat 10.1): the jakarta hook gives the same
   * route template, counts and errors; the javax hook stays off.
   */
  @Test
  void springBoot3RestController() throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), BodyLatencyTest.CONFIG);
         Child app = new Child(SpringBoot3App.class.getName(), TestJars.ownClassPath("springboot3"),
             Support.defaultJdk(), null, Support.log("springboot3"))) {
      assertUsersRoute(app, runner, r -> AgentAttachTest.is(r, "servlet", "server"));
      assertEquals(0, runner.sum("requests", SERVER), "javax hook off");
    }
  }

  /**
   * A Spring Boot app's @RestController on /users/{id}, attached after 5 calls: the 25 calls
   * after attach are counted on {@code side} under the route template, with their errors, and
   * timed like the server's own clock.
   */
  static void assertUsersRoute(Child app, FakeRunner runner, Predicate<Map<String, Object>> side) throws Exception {
    int port = Integer.parseInt(app.command("ports").split(" ")[1]);
    app.run(5, "/users/1");
    Support.attach(app.pid(), runner.args());
    runner.awaitFirstMetrics("METRICS");
    for (int i = 0; i < 20; i++) assertEquals(1, app.run(1, "/users/" + i).ok());
    app.run(3, "/users/missing");
    app.run(2, "/users/boom");
    assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", side) >= 25), runner.rows().toString());
    Thread.sleep(500);
    Predicate<Map<String, Object>> users = r -> side.test(r) && "GET /users/{id}".equals(r.get("method"))
        && AgentAttachTest.port(r, "localPort") == port;
    assertEquals(25, runner.sum("requests", side), runner.rows().toString());
    assertEquals(25, runner.sum("requests", users), "route = the template: " + runner.rows());
    assertEquals(3, runner.sum("clientErrors", users));
    assertEquals(2, runner.sum("serverErrors", users));
    app.run(10, "/users/7?waitMs=5"); // warm up the retransformed code before timing
    assertTimed(app, runner, "/users/42?waitMs=30", users);
    assertEquals(0, runner.total("internalErrors"));
  }
}
