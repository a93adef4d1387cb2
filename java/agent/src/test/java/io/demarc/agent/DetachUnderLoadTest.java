package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.agent.core.Frames;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Attach and detach again and again while the application calls at full rate through every HTTP
 * client, the servlet container and gRPC: calls are inside advised code, waiting on chained
 * completions or on body-table entries when the classes are retransformed under them. Not one
 * of the application's calls may fail.
 */
class DetachUnderLoadTest {
  static final int CYCLES = 6;
  /** lib:path of ChildApp's calls, one thread each. */
  static final String LOAD = "jdkclient:/echo jdkclient-async:/echo urlconn:/echo okhttp:/echo apache:/echo "
      + "servlet:/api/items grpc-unary:hello";
  static final Set<String> LIBRARIES = Set.of("jdk-httpclient", "jdk-httpserver", "httpurlconnection", "okhttp",
      "apache-httpclient5", "servlet", "grpc-java");

  static Set<String> libraries(FakeRunner runner) {
    Set<String> out = new TreeSet<>();
    for (Map<String, Object> r : runner.rows()) out.add((String) r.get("library"));
    return out;
  }

  @Test
  void noCallOfTheApplicationFailsAcrossAttachAndDetach() throws Exception {
    try (Child app = new Child(Support.defaultJdk(), null, Support.log("detach-load"))) {
      app.command("load 1 " + LOAD);
      Set<String> measured = new TreeSet<>();
      String result;
      try {
        for (int cycle = 1; cycle <= CYCLES; cycle++) {
          try (FakeRunner runner = new FakeRunner(Support.socketPath(), Support.secret(), DetachCycleTest.CONFIG)) {
            Support.attach(app.pid(), runner.args());
            assertTrue(FakeRunner.await(15_000, () -> libraries(runner).containsAll(LIBRARIES)),
                "cycle " + cycle + ": calls of every library measured while attached: " + libraries(runner));
            measured.addAll(libraries(runner));
            // Half the cycles detach through the runner's DETACH frame, half through the helper.
            if (cycle % 2 == 1) {
              runner.send(Frames.DETACH, "{}");
              assertTrue(FakeRunner.await(5000, () -> !runner.byes.isEmpty()), "BYE after DETACH");
            } else {
              Support.detach(app.pid());
            }
            Thread.sleep(300); // calls run detached too before the next attach
          }
        }
      } finally {
        result = app.command("load-stop");
      }
      String[] w = result.split(" ", 4);
      long ok = Long.parseLong(w[1]);
      long failed = Long.parseLong(w[2]);
      System.out.printf("%d calls across %d attach/detach cycles, %d failed; measured libraries %s%n", ok + failed,
          CYCLES, failed, measured);
      assertEquals(0, failed, "the application's calls failed: " + (w.length > 3 ? w[3] : ""));
      assertTrue(ok > 0);
      assertTrue(measured.containsAll(LIBRARIES), "calls of every library ran while attached: " + measured);
    }
  }
}
