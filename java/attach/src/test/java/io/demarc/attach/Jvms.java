package io.demarc.attach;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Test support: the JDKs present, child JVMs, and small jars built from the test classes. */
final class Jvms {
  private Jvms() {}

  /** Every JDK under /usr/lib/jvm with a java binary (one per real directory). */
  static List<Path> jdks() {
    List<Path> out = new ArrayList<>();
    for (String name : new String[] {"java-17-openjdk-amd64", "temurin-25-jdk-amd64"}) {
      Path p = Path.of("/usr/lib/jvm", name, "bin/java");
      if (Files.isExecutable(p)) out.add(p);
    }
    if (out.isEmpty()) out.add(Path.of(System.getProperty("java.home"), "bin/java"));
    return out;
  }

  static Path testClasses() {
    try {
      return Path.of(Sleeper.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** A jar (readable by anyone) holding the given test classes, with a manifest. */
  static Path jar(Path dir, String name, Manifest mf, Class<?>... classes) throws IOException {
    Files.createDirectories(dir);
    Path jar = dir.resolve(name);
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf)) {
      for (Class<?> c : classes) {
        String entry = c.getName().replace('.', '/') + ".class";
        out.putNextEntry(new JarEntry(entry));
        out.write(Files.readAllBytes(testClasses().resolve(entry)));
        out.closeEntry();
      }
    }
    jar.toFile().setReadable(true, false);
    return jar;
  }

  static Path fakeAgentJar(Path dir, String version) throws IOException {
    Manifest mf = new Manifest();
    Attributes a = mf.getMainAttributes();
    a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
    a.putValue("Agent-Class", FakeAgent.class.getName());
    a.put(Attributes.Name.IMPLEMENTATION_VERSION, version);
    return jar(dir, "fake-agent-" + version + ".jar", mf, FakeAgent.class);
  }

  static Path sleeperJar(Path dir) throws IOException {
    Manifest mf = new Manifest();
    mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    return jar(dir, "sleeper.jar", mf, Sleeper.class);
  }

  /** A started child process that printed "ready" (or any process when ready is false). */
  static final class Child implements AutoCloseable {
    final Process process;

    Child(List<String> cmd, List<String> env, boolean waitReady) throws IOException {
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD);
      for (String e : env) {
        int eq = e.indexOf('=');
        pb.environment().put(e.substring(0, eq), e.substring(eq + 1));
      }
      process = pb.start();
      if (waitReady) {
        BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream()));
        String line = r.readLine();
        if (!"ready".equals(line)) throw new IOException("child did not get ready: " + line + " " + cmd);
        // Drain the rest (thread dumps after SIGQUIT) so the child never blocks on a full pipe.
        Thread drain = new Thread(() -> {
          try {
            while (r.readLine() != null) {
              // discard
            }
          } catch (IOException ignored) {
            // child gone
          }
        });
        drain.setDaemon(true);
        drain.start();
      }
    }

    long pid() {
      return process.pid();
    }

    @Override
    public void close() throws Exception {
      process.getOutputStream().close();
      if (!process.waitFor(3, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }
}
