package io.demarc.attach;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;
import java.util.jar.JarFile;

/**
 * The agent jar as the target JVM must see it. A JVM of another user or in another mount
 * namespace may not reach the helper's copy, so the jar is copied into the target's /tmp under a
 * fixed name per version (a fixed path also keeps re-attaches from growing the JVM's class path).
 */
public final class AgentJar {
  private final Path local;
  private final String version;

  private AgentJar(Path local, String version) {
    this.local = local;
    this.version = version;
  }

  /** @throws AttachException bad_input when the file is missing or not a demarc agent jar */
  public static AgentJar open(Path jar) throws AttachException {
    try (JarFile jf = new JarFile(jar.toFile())) {
      var attrs = jf.getManifest() == null ? null : jf.getManifest().getMainAttributes();
      if (attrs == null || attrs.getValue("Agent-Class") == null) {
        throw new AttachException("bad_input", jar + " has no Agent-Class in its manifest", "pass demarc-agent.jar");
      }
      String v = attrs.getValue("Implementation-Version");
      return new AgentJar(jar.toAbsolutePath().normalize(), v == null ? "unknown" : v);
    } catch (IOException e) {
      throw new AttachException("bad_input", "cannot read agent jar " + jar + ": " + e.getMessage(),
          "build it with `deno task build --java-only`", e);
    }
  }

  public String version() {
    return version;
  }

  /**
   * Returns the jar's path inside the target's namespace, copying it there when needed.
   *
   * @throws AttachException permission / io when the copy fails
   */
  public String pathFor(Target t) throws AttachException {
    if (t.sameMountNamespace() && t.uid == currentUid() && Files.isReadable(local)) {
      return local.toString();
    }
    String name = "demarc-agent-" + version.replaceAll("[^\\w.-]", "_") + ".jar";
    Path dest = t.root().resolve("tmp").resolve(name);
    try {
      byte[] bytes = Files.readAllBytes(local);
      if (!Files.isSymbolicLink(dest) && Files.isRegularFile(dest) && Arrays.equals(Files.readAllBytes(dest), bytes)) {
        return "/tmp/" + name;
      }
      // Never write through a name someone else may have planted in a shared /tmp: write a fresh
      // file (CREATE_NEW does not follow links) and rename it over the final name.
      Path tmp = dest.resolveSibling("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()));
      Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      Files.move(tmp, dest, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return "/tmp/" + name;
    } catch (AccessDeniedException e) {
      throw new AttachException("permission", "cannot copy the agent jar to " + dest,
          "run the helper as root, or make " + local + " readable by uid " + t.uid, e);
    } catch (IOException e) {
      throw new AttachException("io", "cannot copy the agent jar to " + dest + ": " + e.getMessage(), "", e);
    }
  }

  static int currentUid() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("Uid:")) return Integer.parseInt(line.split("\\s+")[2]);
      }
    } catch (IOException ignored) {
      // fall through
    }
    return -1;
  }
}
