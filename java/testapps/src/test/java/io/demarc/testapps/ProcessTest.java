package io.demarc.testapps;

import static io.demarc.testapps.Apps.num;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command-line contract, in child JVMs as the drivers and the demo start them. */
class ProcessTest {
  /** A child JVM running Main, with line access to its stdin and stdout. */
  private static final class Child implements AutoCloseable {
    final Process process;
    final BufferedReader out;
    final PrintWriter in;

    Child(String... args) throws Exception {
      List<String> cmd = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
          "-cp", System.getProperty("java.class.path"), "io.demarc.testapps.Main"));
      cmd.addAll(List.of(args));
      process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
    }

    String ask(String line) throws Exception {
      in.println(line);
      return out.readLine();
    }

    @Override
    public void close() {
      process.destroyForcibly();
    }
  }

  private static int port(String ready, String role) {
    Matcher m = Pattern.compile("\"" + role + "\":([0-9]+)").matcher(ready);
    assertTrue(m.find(), ready);
    return Integer.parseInt(m.group(1));
  }

  @Test
  void aServerPrintsReadyAnswersStdinFollowsItsControlFileAndQuits(@TempDir Path dir) throws Exception {
    Path control = dir.resolve("control");
    try (Child server = new Child("jdk-http-server", "--control-file", control.toString())) {
      String ready = server.out.readLine();
      assertTrue(ready.matches("READY \\{\"app\":\"jdk-http-server\",\"ports\":\\{\"plain\":[0-9]+,\"tls\":[0-9]+},"
          + "\"pid\":" + server.process.pid() + "}"), ready);
      assertEquals(0, num(server.ask("stats"), "requests"));
      assertTrue(server.ask("fly away").contains("\"error\""));

      Files.writeString(control, "# demo switch\nset error_rate=1\n");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (!server.ask("stats").contains("\"error_rate\":1.0")) {
        assertTrue(System.nanoTime() < deadline, "control file not applied");
        Thread.sleep(100);
      }
      try (Child client = new Child("http-client", "--lib", "jdk",
          "--url", "http://127.0.0.1:" + port(ready, "plain") + "/echo", "--exec", "run 5; run 2")) {
        assertTrue(client.out.readLine().startsWith("READY {\"app\":\"http-client\",\"ports\":{}"));
        String run = client.out.readLine();
        assertEquals(5, num(run, "serverErrors"), run);
        assertEquals(2, num(client.out.readLine(), "serverErrors"));
        assertTrue(client.process.waitFor(20, TimeUnit.SECONDS), "a client exits after --exec");
        assertEquals(0, client.process.exitValue());
      }
      assertEquals(7, num(server.ask("stats"), "errors"));
      assertEquals("{\"ok\":true,\"quit\":true}", server.ask("quit"));
      assertTrue(server.process.waitFor(20, TimeUnit.SECONDS));
      assertEquals(0, server.process.exitValue());
    }
  }

  @Test
  void aBadFlagExitsNonZero() throws Exception {
    try (Child c = new Child("no-such-app")) {
      assertTrue(c.process.waitFor(20, TimeUnit.SECONDS));
      assertTrue(c.process.exitValue() != 0);
    }
  }
}
