package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * OkHttp 3.14.9 (its own RealCall and Transmitter, okio 1.x) in a child JVM that is otherwise
 * ChildApp: sync and async calls counted, errors classified, latency to the body.
 */
class OkHttp3Test {
  @Test
  void okHttp3CallsAreCounted() throws Exception {
    try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), BodyLatencyTest.CONFIG);
         Child app = new Child(ChildApp.class.getName(), TestJars.childClassPathWithOkHttp3(), Support.defaultJdk(),
             null, Support.log("okhttp3"), "-Ddemarc.child.light=true")) {
      assertEquals(5, app.run("okhttp", 5, "/echo").ok(), "calls before attach are not counted");
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("METRICS");
      Predicate<Map<String, Object>> ok3 = r -> AgentAttachTest.is(r, "okhttp3", "client");
      assertEquals(10, app.run("okhttp", 10, "/echo").ok());
      assertEquals(10, app.run("okhttp-async", 10, "/echo").ok());
      app.run("okhttp", 3, "/status/404");
      app.run("okhttp-async", 2, "/status/503");
      assertEquals(4, app.run("okhttp", 4, "/boom").failed(), "the JDK server closes the exchange: no response");
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", ok3) >= 29), runner.rows().toString());
      Thread.sleep(500);
      assertEquals(29, runner.sum("requests", ok3), runner.rows().toString());
      assertEquals(3, runner.sum("clientErrors", ok3));
      assertEquals(6, runner.sum("serverErrors", ok3), "503s and no answers");
      assertEquals(25, runner.sum("responses", ok3));
      assertEquals(20 * 5, runner.sum("bytesReceived", r -> ok3.test(r) && "ok".equals(r.get("statusClass"))));
      assertEquals(20, runner.sum("requests", r -> ok3.test(r) && "GET /echo".equals(r.get("method"))
          && "127.0.0.1".equals(r.get("peerIp"))));
      // A body that comes 50 ms after the head: the calls last until it is read (sync) or closed
      // (async). (A body never closed is recorded after the body timeout, so not here.)
      BodyLatencyTest.assertBody(runner, BodyLatencyTest.slow("okhttp3", "/slow/50"), 5,
          () -> app.run("okhttp", 5, "/slow/50"));
      BodyLatencyTest.assertBody(runner, BodyLatencyTest.slow("okhttp3", "/slow/51"), 5,
          () -> app.run("okhttp-async", 5, "/slow/51"));
      MeanCheck.assertAgrees(runner, r -> ok3.test(r) && "GET /wait/5".equals(r.get("method")), 20, 5_000_000L,
          () -> app.run("okhttp", 20, "/wait/5"));
      assertEquals(0, runner.sum("requests", r -> AgentAttachTest.is(r, "okhttp", "client")), "the 4.x hook stays off");
      assertEquals(0, runner.total("internalErrors"));
    }
  }
}
