package io.demarc.attach;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AttachHelperTest {
  @TempDir static Path tmp;
  static Path fakeAgent;
  static Path otherAgent;
  static Path sleeper;

  @BeforeAll
  static void jars() throws Exception {
    // Jars live under a world-readable dir outside /tmp (the namespace test mounts its own /tmp)
    // so JVMs of other users and namespaces can read them.
    Path shared = Files.createTempDirectory(Path.of("/var/tmp"), "demarc-attach-test");
    shared.toFile().setReadable(true, false);
    shared.toFile().setExecutable(true, false);
    fakeAgent = Jvms.fakeAgentJar(shared, "9.9.1");
    otherAgent = Jvms.fakeAgentJar(shared, "9.9.2");
    sleeper = Jvms.sleeperJar(shared);
  }

  @org.junit.jupiter.api.AfterAll
  static void cleanUp() throws Exception {
    Path dir = fakeAgent.getParent();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) Files.deleteIfExists(f);
    }
    Files.deleteIfExists(dir);
  }

  static Stream<Path> jdks() {
    return Jvms.jdks().stream();
  }

  static Map<String, Object> run(String stdin, String... argv) {
    return Main.run(argv, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
  }

  static Jvms.Child sleeperJvm(Path java, List<String> prefix, List<String> jvmArgs, List<String> env) throws Exception {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(java.toString());
    cmd.addAll(jvmArgs);
    cmd.addAll(List.of("-cp", sleeper.toString(), Sleeper.class.getName()));
    return new Jvms.Child(cmd, env, true);
  }

  static Properties props(long pid) throws Exception {
    AttachListener l = new AttachListener(Target.inspect(pid), 5000);
    l.ensureStarted();
    return l.systemProperties(5000);
  }

  @ParameterizedTest(name = "attach, args via stdin, check and detach work on {0}")
  @MethodSource("jdks")
  void attachCheckDetach(Path java) throws Exception {
    try (Jvms.Child c = sleeperJvm(java, List.of(), List.of(), List.of())) {
      String pid = Long.toString(c.pid());
      Map<String, Object> r = run("socket=/tmp/x.sock;secret=abc;version=9.9.1\n", "attach", "--pid", pid, "--agent", fakeAgent.toString());
      assertEquals(true, r.get("ok"), r.toString());
      assertEquals("9.9.1", r.get("agentVersion"));
      assertEquals(false, r.get("alreadyLoaded"));
      assertEquals("socket=/tmp/x.sock;secret=abc;version=9.9.1", props(c.pid()).getProperty("demarc.test.args"));

      Map<String, Object> chk = run("", "check", "--pid", pid, "--agent", fakeAgent.toString());
      assertEquals(true, chk.get("ok"), chk.toString());
      assertEquals("9.9.1", chk.get("agentVersion"));
      assertNull(chk.get("conflict"));

      Map<String, Object> d = run("", "detach", "--pid", pid, "--agent", fakeAgent.toString());
      assertEquals(true, d.get("ok"), d.toString());
      assertEquals(true, d.get("detached"));
      assertNull(props(c.pid()).getProperty("demarc.agent.version"));
    }
  }

  @Test
  void anotherAgentVersionIsRefused() throws Exception {
    try (Jvms.Child c = sleeperJvm(Jvms.jdks().get(0), List.of(), List.of(), List.of())) {
      String pid = Long.toString(c.pid());
      assertEquals(true, run("a=1", "attach", "--pid", pid, "--agent", fakeAgent.toString()).get("ok"));
      Map<String, Object> r = run("a=1", "attach", "--pid", pid, "--agent", otherAgent.toString());
      assertEquals("version_conflict", r.get("code"), r.toString());
      // Even after detach the old classes stay: still refused, with the reason.
      assertEquals(true, run("", "detach", "--pid", pid, "--agent", fakeAgent.toString()).get("ok"));
      Map<String, Object> r2 = run("a=1", "attach", "--pid", pid, "--agent", otherAgent.toString());
      assertEquals("version_conflict", r2.get("code"), r2.toString());
      assertTrue(r2.get("error").toString().contains("restart the JVM"), r2.toString());
    }
  }

  @Test
  void agentmainThatThrowsIsReportedAsLoadFailed() throws Exception {
    try (Jvms.Child c = sleeperJvm(Jvms.jdks().get(0), List.of(), List.of(), List.of())) {
      Map<String, Object> r = run("fail=1", "attach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString());
      assertEquals("load_failed", r.get("code"), r.toString());
    }
  }

  @Test
  void aLoadSlowerThanTheWholeBudgetTimesOutWithinIt() throws Exception {
    try (Jvms.Child c = sleeperJvm(Jvms.jdks().get(0), List.of(), List.of(), List.of())) {
      String pid = Long.toString(c.pid());
      // The listener started and answering first, so the budget is left to the load step.
      assertEquals(true, run("", "check", "--pid", pid).get("ok"));
      // The agent takes 8 s; a load step with a floor of its own (or per-step timeouts) would wait.
      Map<String, Object> r = run("slowMs=8000", "attach", "--pid", pid, "--agent", fakeAgent.toString(),
          "--timeout-ms", "2000");
      assertEquals("timeout", r.get("code"), r.toString());
      assertTrue(r.get("error").toString().contains("'load'"), r.toString());
    }
  }

  @Test
  void aProcessThatIsNotAJvmIsRefused() throws Exception {
    Process p = new ProcessBuilder("sleep", "30").start();
    try {
      Map<String, Object> r = run("a=1", "attach", "--pid", Long.toString(p.pid()), "--agent", fakeAgent.toString());
      assertEquals(false, r.get("ok"));
      assertEquals("not_jvm", r.get("code"), r.toString());
      assertTrue(r.get("error").toString().contains("not a JVM"));
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void aPidThatDoesNotExistIsRefused() {
    Map<String, Object> r = run("a=1", "attach", "--pid", "999999999", "--agent", fakeAgent.toString());
    assertEquals("not_found", r.get("code"), r.toString());
  }

  @Test
  void badCommandLinesAreRefusedWithUsage() {
    assertEquals("bad_input", run("", "attach", "--pid", "abc").get("code"));
    assertEquals("bad_input", run("", "frobnicate", "--pid", "1").get("code"));
    Map<String, Object> r = run("", "attach", "--pid", "1", "--agent", fakeAgent.toString());
    assertEquals("bad_input", r.get("code"), "empty stdin is refused before touching the pid");
  }

  @Test
  void disableAttachMechanismOnTheCommandLineIsRefused() throws Exception {
    try (Jvms.Child c = sleeperJvm(Jvms.jdks().get(0), List.of(), List.of("-XX:+DisableAttachMechanism"), List.of())) {
      Map<String, Object> r = run("a=1", "attach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString());
      assertEquals("attach_disabled", r.get("code"), r.toString());
    }
  }

  @Test
  void disableAttachMechanismInJavaToolOptionsIsRefused() throws Exception {
    try (Jvms.Child c = sleeperJvm(Jvms.jdks().get(0), List.of(), List.of(),
        List.of("JAVA_TOOL_OPTIONS=-XX:+DisableAttachMechanism"))) {
      Map<String, Object> r = run("a=1", "attach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString());
      assertEquals("attach_disabled", r.get("code"), r.toString());
    }
  }

  @Test
  void aListenerThatNeverStartsTimesOutWithAReason() throws Exception {
    // Hidden in an argument file, the flag escapes the command-line check: the timeout must catch it.
    Path argfile = tmp.resolve("args");
    Files.writeString(argfile, "-XX:+DisableAttachMechanism\n");
    try (Jvms.Child c = sleeperJvm(Jvms.jdks().get(0), List.of(), List.of("@" + argfile), List.of())) {
      Map<String, Object> r = run("a=1", "attach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString(),
          "--timeout-ms", "1000");
      assertEquals("attach_disabled", r.get("code"), r.toString());
      assertTrue(r.get("error").toString().contains("did not start its attach listener"), r.toString());
    }
  }

  /**
   * A JVM killed with SIGKILL leaves its /tmp/.java_pid socket behind; a later JVM that gets the
   * same pid (pids wrap at 32768 by default) must still be attachable. Connecting to the left-over
   * socket is refused: the helper must see it predates the process and do the handshake.
   */
  @Test
  void aStaleAttachSocketOfAnEarlierProcessWithThePidIsReplaced() throws Exception {
    try (Jvms.Child c = sleeperJvm(Jvms.jdks().get(0), List.of(), List.of(), List.of())) {
      Path socket = Target.inspect(c.pid()).attachSocket();
      assumeTrue(!Files.exists(socket), "the JVM's attach listener runs already");
      try (java.nio.channels.ServerSocketChannel dead =
               java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
        dead.bind(java.net.UnixDomainSocketAddress.of(socket)); // closing leaves the file, as a kill does
      }
      Files.setLastModifiedTime(socket,
          java.nio.file.attribute.FileTime.from(java.time.Instant.now().minus(java.time.Duration.ofHours(1))));
      Map<String, Object> r = run("a=1", "attach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString());
      assertEquals(true, r.get("ok"), r.toString());
      assertEquals("a=1", props(c.pid()).getProperty("demarc.test.args"));
    }
  }

  @Test
  void aJvmThatExitsDuringAttachIsReported() throws Exception {
    Path argfile = tmp.resolve("args2");
    Files.writeString(argfile, "-XX:+DisableAttachMechanism\n");
    List<String> cmd = List.of(Jvms.jdks().get(0).toString(), "@" + argfile, "-cp", sleeper.toString(),
        Sleeper.class.getName(), "700");
    try (Jvms.Child c = new Jvms.Child(cmd, List.of(), true)) {
      Map<String, Object> r = run("a=1", "attach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString(),
          "--timeout-ms", "5000");
      assertEquals("exited", r.get("code"), r.toString());
    }
  }

  @ParameterizedTest(name = "attach into a JVM with its own mount namespace and private /tmp on {0}")
  @MethodSource("jdks")
  void privateMountNamespace(Path java) throws Exception {
    assumeTrue(AgentJar.currentUid() == 0, "needs root for unshare -m");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/unshare")), "needs util-linux unshare");
    String inner = "mount -t tmpfs tmpfs /tmp && exec " + java + " -cp " + sleeper + " " + Sleeper.class.getName();
    try (Jvms.Child c = new Jvms.Child(List.of("unshare", "-m", "--propagation", "private", "sh", "-c", inner),
        List.of(), true)) {
      Target t = Target.inspect(c.pid());
      assertTrue(!t.sameMountNamespace(), "child must be in another mount namespace");
      Map<String, Object> r = run("ns=1", "attach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString());
      assertEquals(true, r.get("ok"), r.toString());
      assertEquals("/tmp/demarc-agent-9.9.1.jar", r.get("agentPath"));
      assertTrue(Files.exists(t.root().resolve("tmp/demarc-agent-9.9.1.jar")));
      assertTrue(!Files.exists(Path.of("/tmp/.java_pid" + t.nspid)), "socket must not be in our /tmp");
      assertEquals(true, run("", "detach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString()).get("ok"));
    }
  }

  @Test
  void attachIntoAJvmInItsOwnPidAndMountNamespaces() throws Exception {
    assumeTrue(AgentJar.currentUid() == 0, "needs root for unshare -p -m");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/unshare")), "needs util-linux unshare");
    // Like a container: the JVM is pid 2-ish inside, and /tmp is its own.
    String inner = "mount -t tmpfs tmpfs /tmp && exec " + Jvms.jdks().get(0) + " -cp " + sleeper + " "
        + Sleeper.class.getName();
    try (Jvms.Child c = new Jvms.Child(List.of("unshare", "-m", "-p", "-f", "--propagation", "private", "sh", "-c",
        inner), List.of(), true)) {
      ProcessHandle jvm = c.process.toHandle().descendants()
          .filter(h -> h.info().command().map(cmd -> cmd.endsWith("/java")).orElse(false)).findFirst().orElseThrow();
      Target t = Target.inspect(jvm.pid());
      assertTrue(t.nspid != t.pid, "pid " + t.pid + " is " + t.nspid + " inside its namespace");
      Map<String, Object> r = run("pidns=1", "attach", "--pid", Long.toString(jvm.pid()), "--agent", fakeAgent.toString());
      assertEquals(true, r.get("ok"), r.toString());
      assertEquals(t.nspid, r.get("nspid"));
      assertEquals("pidns=1", props(jvm.pid()).getProperty("demarc.test.args"));
    }
  }

  @Test
  void attachIntoAJvmOfAnotherUser() throws Exception {
    assumeTrue(AgentJar.currentUid() == 0, "needs root to start a JVM as nobody");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs util-linux setpriv");
    try (Jvms.Child c = sleeperJvm(Jvms.jdks().get(0),
        List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"), List.of(), List.of())) {
      Target t = Target.inspect(c.pid());
      assertEquals(65534, t.uid);
      Map<String, Object> r = run("user=1", "attach", "--pid", Long.toString(c.pid()), "--agent", fakeAgent.toString());
      assertEquals(true, r.get("ok"), r.toString());
      assertEquals("/tmp/demarc-agent-9.9.1.jar", r.get("agentPath"), "copied where nobody can read it");
      assertEquals("user=1", props(c.pid()).getProperty("demarc.test.args"));
    } finally {
      Files.deleteIfExists(Path.of("/tmp/demarc-agent-9.9.1.jar")); // the copy made for nobody
    }
  }
}
