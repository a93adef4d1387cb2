package io.demarc.agent;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/**
 * `mvn test` runs before `package`, so the tests assemble the agent jar themselves from
 * target/classes and ByteBuddy (not relocated here; the child JVMs carry no ByteBuddy of their
 * own), with the same manifest as the shaded jar.
 */
final class TestJars {
  static final String VERSION = "0.1.0-test";
  private static Path agentJar;

  private TestJars() {}

  static synchronized Path agentJar() throws IOException {
    if (agentJar != null) return agentJar;
    Path classes = location(Installer.class);
    Path bytebuddy = location(net.bytebuddy.ByteBuddy.class);
    Path dir = Path.of("/var/tmp");
    Path jar = Files.createTempFile(dir, "demarc-agent-test-", ".jar");
    jar.toFile().deleteOnExit();
    Manifest mf = new Manifest();
    Attributes a = mf.getMainAttributes();
    a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
    a.putValue("Agent-Class", AgentMain.class.getName());
    a.putValue("Premain-Class", AgentMain.class.getName());
    a.putValue("Can-Retransform-Classes", "true");
    a.putValue("Can-Redefine-Classes", "true");
    a.put(Attributes.Name.IMPLEMENTATION_VERSION, VERSION);
    Set<String> seen = new HashSet<>();
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), mf)) {
      try (Stream<Path> files = Files.walk(classes)) {
        for (Path p : files.filter(Files::isRegularFile).toList()) {
          String name = classes.relativize(p).toString().replace(File.separatorChar, '/');
          out.putNextEntry(new JarEntry(name));
          out.write(Files.readAllBytes(p));
          out.closeEntry();
        }
      }
      try (JarFile bb = new JarFile(bytebuddy.toFile())) {
        for (Enumeration<JarEntry> en = bb.entries(); en.hasMoreElements(); ) {
          JarEntry e = en.nextElement();
          if (e.isDirectory() || e.getName().startsWith("META-INF/") || e.getName().endsWith("module-info.class")
              || !seen.add(e.getName())) {
            continue;
          }
          try (InputStream in = bb.getInputStream(e)) {
            out.putNextEntry(new JarEntry(e.getName()));
            in.transferTo(out);
            out.closeEntry();
          }
        }
      }
    }
    jar.toFile().setReadable(true, false);
    agentJar = jar;
    return jar;
  }

  /** The child's class path: the test's, minus the agent's classes and ByteBuddy. */
  static String childClassPath() {
    String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    String agentClasses = location(Installer.class).toString();
    String bb = location(net.bytebuddy.ByteBuddy.class).toString();
    List<String> keep = new ArrayList<>();
    for (String e : cp.split(File.pathSeparator)) {
      if (e.isEmpty() || e.equals(agentClasses) || e.equals(agentClasses + "/") || e.equals(bb)) continue;
      if (e.contains("junit") || e.contains("opentest4j") || e.contains("apiguardian")) continue;
      // Spring is on the test class path only to compile the Spring Boot child app.
      if (Path.of(e).getFileName().toString().startsWith("spring-")) continue;
      keep.add(e);
    }
    return String.join(File.pathSeparator, keep);
  }

  /** The child's class path with OkHttp 5 (and its okio and Kotlin) instead of OkHttp 4. */
  static String childClassPathWithOkHttp5() throws IOException {
    return childClassPathWithOkHttp("okhttp5");
  }

  /** The child's class path with OkHttp 3.14 (and its okio 1.x) instead of OkHttp 4. */
  static String childClassPathWithOkHttp3() throws IOException {
    return childClassPathWithOkHttp("okhttp3");
  }

  private static String childClassPathWithOkHttp(String dir) throws IOException {
    List<String> keep = new ArrayList<>();
    for (String e : childClassPath().split(File.pathSeparator)) {
      String name = Path.of(e).getFileName().toString();
      if (name.startsWith("okhttp-") || name.startsWith("okio") || name.startsWith("kotlin-stdlib")) continue;
      keep.add(e);
    }
    keep.addAll(jarsIn(dir));
    return String.join(File.pathSeparator, keep);
  }

  /**
   * The test classes and the jars the build copied to target/{@code dir} (pom.xml), nothing else:
   * for child apps that run on other major versions of libraries the module compiles against
   * (Tomcat 9 instead of 11, Spring Boot 2).
   */
  static String ownClassPath(String dir) throws IOException {
    List<String> cp = new ArrayList<>();
    cp.add(location(TestJars.class).toString());
    cp.addAll(jarsIn(dir));
    return String.join(File.pathSeparator, cp);
  }

  private static List<String> jarsIn(String dir) throws IOException {
    try (Stream<Path> jars = Files.list(Path.of("target", dir))) {
      return jars.map(j -> j.toAbsolutePath().toString()).sorted().toList();
    }
  }

  static Path location(Class<?> c) {
    try {
      return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
