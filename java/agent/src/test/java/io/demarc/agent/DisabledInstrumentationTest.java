package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.agent.core.Frames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * CONFIG's {@code disabled} list (probe.yaml's instrumentation names) uninstalls those hooks in a
 * running JVM and installs them again when they leave the list: one child JVM, OkHttp and
 * HttpURLConnection calls to its JDK server.
 */
class DisabledInstrumentationTest {
  static final String BASE = "\"reportPeriodMs\":200,\"latencyBoundsNs\":[1000000,10000000,100000000]";
  static final String ALL_ON = "{" + BASE + ",\"disabled\":[]}";
  static final String OKHTTP_OFF = "{" + BASE + ",\"disabled\":[\"okhttp\"]}";
  static final String OKHTTP_CALL = "okhttp3.internal.connection.RealCall";

  static final Predicate<Map<String, Object>> OKHTTP = r -> "okhttp".equals(r.get("library"));
  static final Predicate<Map<String, Object>> URLCONN = r -> "httpurlconnection".equals(r.get("library"));
  static final Predicate<Map<String, Object>> SERVER = r -> "jdk-httpserver".equals(r.get("library"));

  /** How often HotSpot retransformed {@code cls} so far (class+load logs each as a redefinition). */
  static long redefinitions(Path classLog, String cls) throws Exception {
    long n = 0;
    for (String l : Files.readAllLines(classLog)) {
      if (l.contains(" " + cls + " ") && l.contains("__VM_RedefineClasses__")) n++;
    }
    return n;
  }

  static String prop(Child app) {
    try {
      return app.prop("demarc.agent.disabled");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> entry(Map<String, Object> hello, String name) {
    for (Map<String, Object> e : (List<Map<String, Object>>) hello.get("instrumentations")) {
      if (name.equals(e.get("name"))) return e;
    }
    throw new AssertionError("no HELLO entry " + name + " in " + hello);
  }

  @Test
  void disablingOneLibraryStopsItsRowsAndRestoresItsClassesThenEnablingResumes() throws Exception {
    Path classLog = Support.log("disabled-classload");
    try (Child app = new Child(Support.defaultJdk(), null, Support.log("disabled"), "-Ddemarc.child.light=true",
        "-Xlog:class+load=info:file=" + classLog.toAbsolutePath());
        FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), ALL_ON)) {
      Support.attach(app.pid(), runner.args());
      runner.awaitFirstMetrics("METRICS");
      Map<String, Object> hello = runner.hellos.get(0);
      // HELLO names are the manifest's; the hooks behind each are listed.
      assertEquals(List.of("okhttp", "okhttp3"), entry(hello, "okhttp").get("hooks"));
      assertEquals(List.of("httpurlconnection"), entry(hello, "urlconnection").get("hooks"));
      assertEquals(List.of("grpc-client", "grpc-server", "grpc-wire"), entry(hello, "grpc").get("hooks"));

      // 1. Everything on: both clients counted.
      app.run("okhttp", 5, "/echo");
      app.run("urlconn", 5, "/echo");
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", OKHTTP) == 5
          && runner.sum("requests", URLCONN) == 5 && runner.sum("requests", SERVER) == 10), "both counted");

      // 2. okhttp disabled: its class is retransformed back, its calls make no row; the other
      // client and the server still count.
      long before = redefinitions(classLog, OKHTTP_CALL);
      assertEquals("", app.prop("demarc.agent.disabled"));
      runner.send(Frames.CONFIG, OKHTTP_OFF);
      // Set by the agent once the hooks in place match the new set (retransformation is synchronous).
      assertTrue(FakeRunner.await(10_000, () -> prop(app).equals("okhttp")), "disabled set applied");
      assertTrue(redefinitions(classLog, OKHTTP_CALL) > before, OKHTTP_CALL + " retransformed back");
      assertEquals(7, app.run("okhttp", 7, "/echo").ok());
      assertEquals(5, app.run("urlconn", 5, "/echo").ok());
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", URLCONN) == 10
          && runner.sum("requests", SERVER) == 22), () -> "the other client and the server still counted: urlconn "
          + runner.sum("requests", URLCONN) + ", server " + runner.sum("requests", SERVER) + ", internal errors "
          + runner.total("internalErrors"));
      Thread.sleep(500); // a few more periods
      assertEquals(5, runner.sum("requests", OKHTTP), "no okhttp rows while disabled");

      // 3. A reconnect: HELLO (sent before the new connection's CONFIG) says okhttp is disabled;
      // the fake runner's CONFIG then enables everything again: the class is instrumented again
      // and its calls counted.
      long disabledAt = redefinitions(classLog, OKHTTP_CALL);
      runner.stop();
      runner.listen();
      assertTrue(FakeRunner.await(10_000, () -> runner.hellos.size() >= 2), "HELLO again after reconnect");
      Map<String, Object> again = runner.hellos.get(runner.hellos.size() - 1);
      assertEquals(false, entry(again, "okhttp").get("active"));
      assertEquals("disabled by config", entry(again, "okhttp").get("reason"));
      assertEquals(true, entry(again, "urlconnection").get("active"));
      assertEquals(true, entry(again, "jdk_httpserver").get("active"));
      assertTrue(FakeRunner.await(10_000, () -> prop(app).isEmpty()), "enabled again");
      assertTrue(redefinitions(classLog, OKHTTP_CALL) > disabledAt, OKHTTP_CALL + " instrumented again");
      assertEquals(3, app.run("okhttp", 3, "/echo").ok());
      assertEquals(3, app.run("urlconn", 3, "/echo").ok());
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", OKHTTP) == 8
          && runner.sum("requests", URLCONN) == 13), () -> "okhttp counted again: "
          + runner.sum("requests", OKHTTP) + ", urlconn " + runner.sum("requests", URLCONN) + ", internal errors "
          + runner.total("internalErrors") + ", metrics " + runner.metrics.subList(Math.max(0, runner.metrics.size() - 30), runner.metrics.size()));
    }
  }

  @Test
  void disabledAtAttachIsNeverInstalledAndHelloSaysSo() throws Exception {
    Path classLog = Support.log("disabled-at-attach-classload");
    try (Child app = new Child(Support.defaultJdk(), null, Support.log("disabled-at-attach"),
        "-Ddemarc.child.light=true", "-Xlog:class+load=info:file=" + classLog.toAbsolutePath());
        FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), OKHTTP_OFF)) {
      assertEquals(2, app.run("okhttp", 2, "/echo").ok()); // OkHttp's classes loaded before attach
      Support.attach(app.pid(), runner.args() + ";disabled=okhttp");
      runner.awaitFirstMetrics("METRICS");
      assertEquals("okhttp", app.prop("demarc.agent.disabled"));
      Map<String, Object> hello = runner.hellos.get(0);
      assertEquals(false, entry(hello, "okhttp").get("active"));
      assertEquals("disabled by config", entry(hello, "okhttp").get("reason"));
      app.run("okhttp", 4, "/echo");
      app.run("urlconn", 4, "/echo");
      assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", URLCONN) == 4
          && runner.sum("requests", SERVER) == 8), "the other client and the server counted");
      Thread.sleep(500);
      assertEquals(0, runner.sum("requests", OKHTTP), "no okhttp rows");
      assertEquals(0, redefinitions(classLog, OKHTTP_CALL), OKHTTP_CALL + " never retransformed");
    }
  }
}
