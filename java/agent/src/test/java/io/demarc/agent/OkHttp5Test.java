package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/** The OkHttp advice on OkHttp 5 (the module compiles against 4.12): sync and async calls. */
class OkHttp5Test {
  @Test
  void okHttp5CallsAreCounted() throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), "{\"reportPeriodMs\":200}");
         Child app = new Child(ChildApp.class.getName(), TestJars.childClassPathWithOkHttp5(), Support.defaultJdk(),
             null, Support.log("okhttp5"), "-Ddemarc.child.light=true")) {
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("METRICS");
      assertEquals(10, app.run("okhttp", 10, "/echo").ok());
      assertEquals(10, app.run("okhttp-async", 10, "/echo").ok());
      app.run("okhttp", 3, "/status/404");
      Predicate<Map<String, Object>> ok = r -> "okhttp".equals(r.get("library"));
      assertTrue(FakeRunner.await(5000, () -> runner.sum("requests", ok) >= 23), runner.rows().toString());
      Thread.sleep(400);
      assertEquals(23, runner.sum("requests", ok));
      assertEquals(3, runner.sum("clientErrors", ok));
      // The body comes 50 ms after the head: the calls last until it is read (sync) or closed (async).
      BodyLatencyTest.assertBody(runner, BodyLatencyTest.slow("okhttp", "/slow/50"), 5,
          () -> app.run("okhttp", 5, "/slow/50"));
      BodyLatencyTest.assertBody(runner, BodyLatencyTest.slow("okhttp", "/slow/51"), 5,
          () -> app.run("okhttp-async", 5, "/slow/51"));
      assertEquals(0, runner.total("internalErrors"));
    }
  }
}
