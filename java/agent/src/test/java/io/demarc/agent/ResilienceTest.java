package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The agent against things going wrong: itself failing, the runner restarting, a bad secret. */
class ResilienceTest {
  static final String CONFIG = "{\"reportPeriodMs\":200}";
  static final Predicate<Map<String, Object>> CLIENT = r -> "jdk-httpclient".equals(r.get("library"));

  @Test
  void advicethatThrowsLeavesTheApplicationsCallsUnaffected() throws Exception {
    try (Child app = new Child(Support.defaultJdk(), null, Support.log("isolation"));
         FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG)) {
      Support.attach(app.pid(), runner.args() + ";debug=throw");
      runner.awaitFirstMetrics("METRICS");
      String[] libs = {"jdkclient", "jdkclient-async", "urlconn", "okhttp", "okhttp-async", "apache", "servlet",
          "grpc-unary", "grpc-stream"};
      int calls = 0;
      for (String lib : libs) {
        String path = lib.equals("servlet") ? "/api/x" : lib.startsWith("grpc") ? "hi" : "/echo";
        Child.Result r = app.run(lib, 10, path);
        assertEquals(10, r.ok(), lib + ": every call succeeds although the instrumentation throws");
        assertEquals(0, r.failed(), lib);
        calls += 10;
      }
      int expected = calls;
      // Each call throws at least once inside the agent (client and server side both count).
      assertTrue(FakeRunner.await(5000, () -> runner.total("internalErrors") >= expected),
          "internal errors counted: " + runner.total("internalErrors"));
      assertEquals(0, runner.rows().size(), "nothing recorded while failing");
      // Advice's suppressed exceptions are described for the operator (GET /sermant), not only counted.
      assertTrue(FakeRunner.await(5000, () -> describedErrors(runner).stream().anyMatch(e ->
              e.startsWith("java.lang.IllegalStateException: demarc debug=throw")
                  && e.contains(" at io.demarc.agent.core.Recorder."))),
          "a METRICS frame describes the failure: " + describedErrors(runner));
    }
  }

  static java.util.List<String> describedErrors(FakeRunner runner) {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (Map<String, Object> m : runner.metrics) {
      if (m.get("lastInternalError") instanceof String e) out.add(e);
    }
    return out;
  }

  @Test
  void theAgentReconnectsAfterARunnerRestartAndLosesNoCounts() throws Exception {
    try (Child app = new Child(Support.defaultJdk(), null, Support.log("restart"), "-Ddemarc.child.light=true");
         FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG)) {
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("METRICS");
      app.run("jdkclient", 10, "/echo");
      assertTrue(FakeRunner.await(5000, () -> runner.sum("requests", CLIENT) == 10));
      runner.stop(); // the runner goes away...
      app.run("jdkclient", 15, "/echo"); // ...while the application keeps working
      Thread.sleep(600);
      runner.listen(); // ...and comes back on the same path
      assertTrue(FakeRunner.await(10_000, () -> runner.hellos.size() == 2), "second HELLO after restart");
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", CLIENT) == 25),
          "calls made while the runner was away arrive after reconnecting: " + runner.sum("requests", CLIENT));
      app.run("jdkclient", 5, "/echo");
      assertTrue(FakeRunner.await(5000, () -> runner.sum("requests", CLIENT) == 30));
    }
  }

  @Test
  void theAgentAlsoWorksFromTheCommandLineAtStartUp() throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG);
         Child app = new Child(Support.defaultJdk(), null, Support.log("premain"), "-Ddemarc.child.light=true",
             "-javaagent:" + TestJars.agentJar() + "=" + runner.args())) {
      runner.awaitFirstMetrics("premain connects and is configured");
      app.run("jdkclient", 10, "/echo");
      assertTrue(FakeRunner.await(5000, () -> runner.sum("requests", CLIENT) == 10));
      assertEquals(TestJars.VERSION, Support.loadedVersion(app.pid()));
      Support.detach(app.pid()); // and it detaches like an attached one
      app.run("jdkclient", 10, "/echo");
      Thread.sleep(400);
      assertEquals(10, runner.sum("requests", CLIENT));
    }
  }

  @Test
  void attachingAgainWhileLoadedSwitchesToTheNewSocketWithoutASecondInstall() throws Exception {
    try (Child app = new Child(Support.defaultJdk(), null, Support.log("switch"), "-Ddemarc.child.light=true");
         FakeRunner first = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG);
         FakeRunner second = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG)) {
      Support.attach(app.pid(), first.args());
      first.awaitFirstMetrics("METRICS");
      app.run("jdkclient", 4, "/echo");
      assertTrue(FakeRunner.await(5000, () -> first.sum("requests", CLIENT) == 4));
      Map<String, Object> again = Support.helper(second.args(), "attach", "--pid", Long.toString(app.pid()),
          "--agent", TestJars.agentJar().toString());
      assertEquals(true, again.get("ok"), again.toString());
      assertEquals(true, again.get("alreadyLoaded"));
      assertTrue(FakeRunner.await(5000, () -> !first.byes.isEmpty()), "the old channel says BYE");
      assertEquals("reconfigured", first.byes.get(0).get("reason"));
      second.awaitFirstMetrics("METRICS");
      app.run("jdkclient", 6, "/echo");
      assertTrue(FakeRunner.await(5000, () -> second.sum("requests", CLIENT) == 6), second.rows().toString());
      assertEquals(4, first.sum("requests", CLIENT));
      java.util.List<String> threads = new java.util.ArrayList<>(java.util.List.of(app.demarcThreads().split(",")));
      java.util.Collections.sort(threads);
      assertEquals(java.util.List.of("demarc-agent-reader", "demarc-agent-sender"), threads,
          "one sender and one reader: the old ones ended");
    }
  }

  @Test
  void aRunnerThatRejectsTheSecretGetsNoData() throws Exception {
    try (Child app = new Child(Support.defaultJdk(), null, Support.log("secret"), "-Ddemarc.child.light=true");
         FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG)) {
      String wrong = runner.args().replace("secret=" + runner.secret, "secret=0000");
      Support.attach(app.pid(), wrong);
      app.run("jdkclient", 5, "/echo");
      Thread.sleep(1000);
      assertEquals(0, runner.hellos.size());
      assertEquals(0, runner.metrics.size());
      Support.detach(app.pid());
    }
  }
}
