package io.demarc.agent;

import io.demarc.agent.core.GrpcWire;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.net.URISyntaxException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * Copies the {@code io.demarc.agent.core} classes into a small jar and appends it to the boot
 * class path, so that advice inlined into classes of any loader (the JDK's own included) can
 * call the Recorder. Done once per JVM: on later attaches the classes are already there, and the
 * same classes (and their state) are reused, which keeps the class count flat across cycles.
 */
final class BootstrapInjector {
  static final String CORE = "io/demarc/agent/core/";
  private static final String PROBE = "io.demarc.agent.core.Recorder";
  /** Core jars are named {@code demarc-core-<pid of the JVM that made it>-<random>.jar}. */
  static final String JAR_PREFIX = "demarc-core-";
  private static final long ORPHAN_MIN_AGE_MS = 60_000;

  private BootstrapInjector() {}

  static void ensure(Instrumentation inst) throws IOException {
    try {
      Class.forName(PROBE, false, null);
      return; // injected by an earlier attach
    } catch (ClassNotFoundException e) {
      // first attach into this JVM
    }
    Path jar = Files.createTempFile(JAR_PREFIX + ProcessHandle.current().pid() + "-", ".jar");
    jar.toFile().deleteOnExit();
    sweepOrphans(jar.getParent());
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      File src = codeSource();
      if (src.isDirectory()) {
        copyDirectory(src.toPath(), out);
      } else {
        copyJar(src, out);
      }
    }
    try (JarFile named = new JarFile(jar.toFile())) { // the VM opens its own, by the name
      inst.appendToBootstrapClassLoaderSearch(named);
    }
    // The VM keeps the jar open from here on, so its file can go now: a JVM killed with SIGKILL
    // (the OOM killer, kill -9) never runs deleteOnExit, and each would leave one in its temp
    // dir. Only the gRPC stream classes are read from it as resources, not loaded: kept first.
    try {
      GrpcWire.keepClassFiles();
      Files.deleteIfExists(jar);
    } catch (IOException | RuntimeException e) {
      // left for deleteOnExit; GrpcWire reads the resources from the jar when it needs them
    }
  }

  /**
   * Deletes the core jars in {@code dir} left by JVMs that are gone: one killed between making its
   * jar and deleting it (a few milliseconds of its first attach) leaves it behind, and a host whose
   * JVMs are killed often would collect them. A jar whose pid is alive is kept, whoever runs there
   * now (a reused pid only delays its sweep), and so is one younger than a minute (a temp dir shared
   * with another pid namespace, whose pids mean nothing here, during that JVM's attach); a name
   * without a pid (an older agent's) is left alone. Errors are ignored: the sweep is housekeeping,
   * never a reason to fail an attach.
   */
  static int sweepOrphans(Path dir) {
    int deleted = 0;
    long youngest = System.currentTimeMillis() - ORPHAN_MIN_AGE_MS;
    try (DirectoryStream<Path> jars = Files.newDirectoryStream(dir, JAR_PREFIX + "*.jar")) {
      for (Path jar : jars) {
        long pid = pidOf(jar.getFileName().toString());
        if (pid <= 0 || ProcessHandle.of(pid).isPresent()) continue;
        try {
          if (Files.getLastModifiedTime(jar).toMillis() > youngest) continue;
          if (Files.deleteIfExists(jar)) deleted++;
        } catch (IOException | SecurityException e) {
          // another user's file, or gone meanwhile
        }
      }
    } catch (IOException | RuntimeException e) {
      // an unreadable temp dir: nothing to sweep
    }
    return deleted;
  }

  /** The pid in a core jar's name, or -1 when the name carries none. */
  static long pidOf(String name) {
    int start = JAR_PREFIX.length(), end = name.indexOf('-', start);
    if (!name.startsWith(JAR_PREFIX) || end <= start) return -1;
    try {
      return Long.parseLong(name.substring(start, end));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static File codeSource() throws IOException {
    try {
      return new File(AgentMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException e) {
      throw new IOException(e);
    }
  }

  private static void copyJar(File src, JarOutputStream out) throws IOException {
    try (JarFile jf = new JarFile(src)) {
      for (Enumeration<JarEntry> en = jf.entries(); en.hasMoreElements(); ) {
        JarEntry e = en.nextElement();
        if (!e.isDirectory() && e.getName().startsWith(CORE)) {
          try (InputStream in = jf.getInputStream(e)) {
            out.putNextEntry(new JarEntry(e.getName()));
            in.transferTo(out);
            out.closeEntry();
          }
        }
      }
    }
  }

  /** Unit tests run from target/classes, not from a jar. */
  private static void copyDirectory(Path root, JarOutputStream out) throws IOException {
    Path core = root.resolve(CORE);
    try (Stream<Path> files = Files.walk(core)) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        out.putNextEntry(new JarEntry(root.relativize(p).toString().replace(File.separatorChar, '/')));
        out.write(Files.readAllBytes(p));
        out.closeEntry();
      }
    }
  }
}
