package io.demarc.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The whole path into a JVM with its own mount namespace and private /tmp, as the runner does
 * it: the runner binds its socket through /proc/&lt;pid&gt;/root/tmp, the agent (jar copied in by the
 * helper) connects to /tmp/... inside its namespace, and data flows.
 */
class NamespaceTest {
  @Test
  void anAgentInAPrivateTmpReachesTheRunnersSocket() throws Exception {
    assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false), "needs root for unshare");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/unshare")), "needs util-linux unshare");
    Path copies = Files.createTempDirectory(Path.of("/var/tmp"), "demarc-ns-test-");
    try {
      run(copies);
    } finally { // the child has exited (Child closed): its class path copies are no longer in use
      Support.deleteTree(copies);
    }
  }

  private void run(Path copies) throws Exception {
    List<String> java = Child.command(ChildApp.class.getName(), outsideTmp(TestJars.childClassPath(), copies),
        Support.defaultJdk(), null, "-Ddemarc.child.light=true");
    List<String> cmd = new ArrayList<>(List.of("unshare", "-m", "--propagation", "private", "sh", "-c",
        "mount -t tmpfs tmpfs /tmp && exec " + String.join(" ", java)));
    try (Child app = new Child(cmd, Support.log("namespace"))) {
      String name = "demarc-" + app.pid() + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".sock";
      Path outside = Path.of("/proc", Long.toString(app.pid()), "root", "tmp", name);
      try (FakeRunner runner = new FakeRunner(outside, Support.secret(), "{\"reportPeriodMs\":200}")) {
        assertTrue(!Files.exists(Path.of("/tmp", name)), "the socket is not in our /tmp");
        String args = "socket=/tmp/" + name + ";secret=" + runner.secret + ";version=" + TestJars.VERSION;
        Support.attach(app.pid(), args);
        runner.awaitFirstMetrics("HELLO/CONFIG/METRICS across namespaces");
        app.run("jdkclient", 10, "/echo");
        Predicate<Map<String, Object>> client = r -> "jdk-httpclient".equals(r.get("library"));
        assertTrue(FakeRunner.await(5000, () -> runner.sum("requests", client) == 10), runner.rows().toString());
        assertEquals(app.pid(), ((Number) runner.hellos.get(0).get("pid")).longValue(), "same pid namespace here");
        Support.detach(app.pid());
      }
    }
  }

  /**
   * The child's class path with every entry under /tmp copied into {@code copies} (under /var/tmp):
   * the private tmpfs the child mounts on /tmp would hide a checkout that lives under /tmp.
   */
  private static String outsideTmp(String classPath, Path copies) throws IOException {
    List<String> out = new ArrayList<>();
    int i = 0;
    for (String entry : classPath.split(File.pathSeparator)) {
      Path src = Path.of(entry);
      if (!src.toAbsolutePath().startsWith("/tmp") || !Files.exists(src)) {
        out.add(entry);
        continue;
      }
      Path dst = copies.resolve(i++ + "-" + src.getFileName());
      try (var walk = Files.walk(src)) {
        walk.forEach(p -> {
          try {
            Files.copy(p, dst.resolve(src.relativize(p).toString()), StandardCopyOption.REPLACE_EXISTING);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
      }
      out.add(dst.toString());
    }
    return String.join(File.pathSeparator, out);
  }
}
