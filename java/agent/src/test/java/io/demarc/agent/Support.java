package io.demarc.agent;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/** Shared test helpers: JDKs, logs, socket paths, attach through the real helper. */
final class Support {
  private Support() {}

  static List<Path> jdks() {
    List<Path> out = new ArrayList<>();
    for (String name : new String[] {"java-17-openjdk-amd64", "temurin-25-jdk-amd64"}) {
      Path p = Path.of("/usr/lib/jvm", name, "bin/java");
      if (Files.isExecutable(p)) out.add(p);
    }
    if (out.isEmpty()) out.add(Path.of(System.getProperty("java.home"), "bin/java"));
    return out;
  }

  static Path defaultJdk() {
    return jdks().get(0);
  }

  /** Removes {@code root} and everything under it (a test's temp dir, once nothing uses it). */
  static void deleteTree(Path root) throws java.io.IOException {
    try (var walk = Files.walk(root)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }

  static Path log(String name) throws Exception {
    Path dir = Path.of("target", "child-logs");
    Files.createDirectories(dir);
    return dir.resolve(name + "-" + System.nanoTime() + ".log");
  }

  static Path socketPath() {
    return Path.of("/tmp", "demarc-test-" + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".sock");
  }

  static String secret() {
    return Long.toHexString(ThreadLocalRandom.current().nextLong()) + Long.toHexString(ThreadLocalRandom.current().nextLong());
  }

  static Map<String, Object> helper(String stdin, String... argv) {
    return io.demarc.attach.Main.run(argv, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
  }

  static void attach(long pid, String args) throws Exception {
    Map<String, Object> r = helper(args, "attach", "--pid", Long.toString(pid), "--agent",
        TestJars.agentJar().toString());
    if (!Boolean.TRUE.equals(r.get("ok"))) throw new AssertionError("attach failed: " + r);
  }

  static void detach(long pid) throws Exception {
    Map<String, Object> r = helper("", "detach", "--pid", Long.toString(pid), "--agent", TestJars.agentJar().toString());
    if (!Boolean.TRUE.equals(r.get("ok"))) throw new AssertionError("detach failed: " + r);
  }

  static Object loadedVersion(long pid) throws Exception {
    return helper("", "check", "--pid", Long.toString(pid)).get("agentVersion");
  }

  /** A PKCS12 keystore with a self-signed certificate for 127.0.0.1 (keytool of this JDK). */
  static Path keystore() throws Exception {
    Path dir = Files.createTempDirectory("demarc-tls");
    Path ks = dir.resolve("server.p12");
    // Removed when this JVM exits, the file before its dir (the reverse of registration).
    dir.toFile().deleteOnExit();
    ks.toFile().deleteOnExit();
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "demarc", "-keyalg", "RSA", "-keysize", "2048", "-storetype", "PKCS12",
        "-keystore", ks.toString(), "-storepass", "changeit", "-keypass", "changeit", "-dname", "CN=127.0.0.1",
        "-validity", "2", "-ext", "SAN=ip:127.0.0.1").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) throw new IllegalStateException("keytool failed: " + out);
    return ks;
  }
}
