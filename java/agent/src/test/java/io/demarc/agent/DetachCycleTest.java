package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.agent.core.Frames;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Attach and detach again and again into one JVM: data flows only while attached, and after the
 * first cycle neither threads nor loaded classes grow. Also: a runner restart is survived, and
 * an instrumentation that throws leaves the application's calls alone.
 */
class DetachCycleTest {
  static final String CONFIG = "{\"reportPeriodMs\":200,\"latencyBoundsNs\":[1000000,10000000,100000000]}";
  static final int CYCLES = 10;
  /** Named classes the application itself may still load lazily between cycles. */
  static final long CLASS_SLACK = 5;
  static final long THREAD_SLACK = 2;

  /**
   * Classes loaded so far by the child, from its -Xlog:class+load, split into named classes and
   * what the JVM spins by itself. HotSpot logs (and the MXBean counts) every retransformation as a
   * load of a "__VM_RedefineClasses__" scratch version that is freed afterwards, and re-linking the
   * lambdas of a retransformed class (HttpClientImpl) spins new hidden lambda / LambdaForm classes,
   * collectable once the old class version is gone. Neither is held by the agent; a class the
   * agent kept would show up as a named class.
   * Returns {named, redefinitions, hidden}.
   */
  static long[] classes(java.nio.file.Path classLog) throws Exception {
    long named = 0;
    long redefined = 0;
    long hidden = 0;
    for (String l : java.nio.file.Files.readAllLines(classLog)) {
      if (l.contains("__VM_RedefineClasses__")) redefined++;
      else if (l.contains("__JVM_LookupDefineClass__") || l.contains("__ClassDefiner__") || l.contains("$$Lambda")
          || l.contains("LambdaForm$") || l.contains("/0x")) hidden++;
      else named++;
    }
    return new long[] {named, redefined, hidden};
  }

  static final Predicate<Map<String, Object>> CLIENT = r -> "jdk-httpclient".equals(r.get("library"));
  static final Predicate<Map<String, Object>> SERVER = r -> "jdk-httpserver".equals(r.get("library"));

  @Test
  void tenDetachReattachCyclesKeepThreadsAndClassesFlat() throws Exception {
    java.nio.file.Path classLog = Support.log("cycles-classload");
    try (Child app = new Child(Support.defaultJdk(), null, Support.log("cycles"), "-Ddemarc.child.light=true",
        "-Xlog:class+load=info:file=" + classLog.toAbsolutePath())) {
      long[] afterFirst = null;
      long threadsFirst = 0;
      for (int cycle = 1; cycle <= CYCLES; cycle++) {
        try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), CONFIG)) {
          Support.attach(app.pid(), runner.args());
          runner.awaitFirstMetrics("cycle " + cycle + ": METRICS");
          app.run("jdkclient", 10, "/echo");
          assertTrue(FakeRunner.await(10_000, () -> runner.sum("requests", CLIENT) >= 10
              && runner.sum("requests", SERVER) >= 10), "cycle " + cycle + ": data while attached");
          // Half the cycles detach through the runner's DETACH frame, half through the helper.
          if (cycle % 2 == 1) {
            runner.send(Frames.DETACH, "{}");
            assertTrue(FakeRunner.await(5000, () -> !runner.byes.isEmpty()), "BYE after DETACH");
            assertTrue(FakeRunner.await(5000, () -> {
              try {
                return Support.loadedVersion(app.pid()) == null;
              } catch (Exception e) {
                return false;
              }
            }), "property cleared after DETACH");
          } else {
            Support.detach(app.pid());
            assertNull(Support.loadedVersion(app.pid()));
          }
          assertTrue(FakeRunner.await(5000, () -> {
            try {
              return app.demarcThreads().equals("-");
            } catch (Exception e) {
              return false;
            }
          }), "agent threads gone after detach");
          long before = runner.sum("requests", CLIENT);
          app.run("jdkclient", 10, "/echo"); // detached: must not be counted anywhere
          Thread.sleep(300);
          assertEquals(10, before, "cycle " + cycle + ": exactly the attached calls");
          assertEquals(before, runner.sum("requests", CLIENT), "cycle " + cycle + ": nothing after detach");
        }
        if (cycle == 1) {
          threadsFirst = app.stats()[0];
          afterFirst = classes(classLog);
        }
      }
      long threadsLast = app.stats()[0];
      long[] afterLast = classes(classLog);
      System.out.printf("after cycle 1: %d threads, %d named classes (+%d redefinitions, %d spun by the JVM); "
          + "after cycle %d: %d threads, %d named classes (+%d redefinitions, %d spun by the JVM)%n", threadsFirst,
          afterFirst[0], afterFirst[1], afterFirst[2], CYCLES, threadsLast, afterLast[0], afterLast[1], afterLast[2]);
      // The agent's own threads are checked by name above; the application's pools (HttpClient
      // workers, ForkJoin) come and go on their own, hence a small slack on the total.
      assertTrue(Math.abs(threadsLast - threadsFirst) <= THREAD_SLACK,
          "threads after cycle 1: " + threadsFirst + ", after cycle " + CYCLES + ": " + threadsLast);
      assertTrue(afterLast[0] - afterFirst[0] <= CLASS_SLACK,
          "named classes after cycle 1: " + afterFirst[0] + ", after cycle " + CYCLES + ": " + afterLast[0]);
    }
  }
}
