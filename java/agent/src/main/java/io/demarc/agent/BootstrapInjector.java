package io.demarc.agent;

import io.demarc.agent.core.GrpcWire;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.instrument.Instrumentation;
import java.net.URISyntaxException;
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

  private BootstrapInjector() {}

  static void ensure(Instrumentation inst) throws IOException {
    try {
      Class.forName(PROBE, false, null);
      return; // injected by an earlier attach
    } catch (ClassNotFoundException e) {
      // first attach into this JVM
    }
    Path jar = Files.createTempFile("demarc-core-", ".jar");
    jar.toFile().deleteOnExit();
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
