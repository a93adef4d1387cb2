package io.demarc.attach;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What /proc says about a target process: its pid as seen inside its own pid namespace, its
 * credentials, whether it is a HotSpot JVM, and whether attaching could be refused or could harm
 * it. Everything is read through {@code /proc/<pid>} so it works across mount and pid namespaces.
 */
public final class Target {
  /** SIGQUIT is signal 3: bit 2 of the SigCgt mask. */
  private static final long SIGQUIT_BIT = 1L << 2;

  public final long pid;
  public final long nspid;
  public final int uid;
  public final int gid;
  public final boolean catchesSigquit;
  public final List<String> commandLine;
  private final Path proc;

  private Target(long pid, long nspid, int uid, int gid, boolean catchesSigquit, List<String> cmd) {
    this.pid = pid;
    this.nspid = nspid;
    this.uid = uid;
    this.gid = gid;
    this.catchesSigquit = catchesSigquit;
    this.commandLine = cmd;
    this.proc = Path.of("/proc", Long.toString(pid));
  }

  /**
   * Reads /proc/&lt;pid&gt; and refuses anything that is not a HotSpot JVM accepting attach.
   *
   * @throws AttachException not_found, not_jvm, not_hotspot, attach_disabled, permission
   */
  public static Target inspect(long pid) throws AttachException {
    Path proc = Path.of("/proc", Long.toString(pid));
    String status = read(proc.resolve("status"), pid);
    long nspid = pid;
    int uid = -1;
    int gid = -1;
    boolean sigquit = false;
    for (String line : status.split("\n")) {
      String[] f = line.split("\\s+");
      switch (f[0]) {
        // NSpid lists the pid in each nested namespace; the last one is what the JVM calls itself.
        case "NSpid:" -> nspid = Long.parseLong(f[f.length - 1]);
        case "Uid:" -> uid = Integer.parseInt(f[2]); // effective uid, which HotSpot compares
        case "Gid:" -> gid = Integer.parseInt(f[2]);
        case "SigCgt:" -> sigquit = (Long.parseUnsignedLong(f[1], 16) & SIGQUIT_BIT) != 0;
        default -> { }
      }
    }
    List<String> cmd = split0(read(proc.resolve("cmdline"), pid));
    String maps = read(proc.resolve("maps"), pid);
    if (!maps.contains("/libjvm.so")) {
      String what = cmd.isEmpty() ? "?" : cmd.get(0);
      throw new AttachException("not_jvm", "process " + pid + " (" + what + ") is not a JVM: no libjvm.so mapped",
          "check the pid; snoopers should match the java process, not a wrapper script");
    }
    if (maps.contains("libj9vm")) {
      throw new AttachException("not_hotspot", "process " + pid + " is an OpenJ9 JVM, not HotSpot",
          "only HotSpot JVMs (OpenJDK, Temurin, Oracle, Corretto...) are supported");
    }
    if (attachDisabled(cmd, environ(proc))) {
      throw new AttachException("attach_disabled",
          "JVM " + pid + " runs with -XX:+DisableAttachMechanism", "restart it without that flag to let demarc attach");
    }
    return new Target(pid, nspid, uid, gid, sigquit, cmd);
  }

  /** The last {+,-}DisableAttachMechanism wins, as in HotSpot; the env variables come first. */
  static boolean attachDisabled(List<String> cmd, List<String> env) {
    Boolean disabled = null;
    List<String> tokens = new ArrayList<>();
    for (String e : env) {
      for (String var : new String[] {"JAVA_TOOL_OPTIONS=", "_JAVA_OPTIONS=", "JDK_JAVA_OPTIONS="}) {
        if (e.startsWith(var)) tokens.addAll(List.of(e.substring(var.length()).split("\\s+")));
      }
    }
    tokens.addAll(cmd);
    for (String t : tokens) {
      if (t.equals("-XX:+DisableAttachMechanism")) disabled = true;
      if (t.equals("-XX:-DisableAttachMechanism")) disabled = false;
    }
    return disabled != null && disabled;
  }

  public boolean alive() {
    return Files.exists(proc);
  }

  /** The target's root directory as this process can reach it (its mount namespace). */
  public Path root() {
    return proc.resolve("root");
  }

  public Path cwd() {
    return proc.resolve("cwd");
  }

  /** HotSpot always uses /tmp (not java.io.tmpdir) for the attach socket. */
  public Path attachSocket() {
    return root().resolve("tmp/.java_pid" + nspid);
  }

  /**
   * Whether {@code file} is older than this process (by more than the 2 s that its start time,
   * read from /proc, may be off): then an earlier process with the same pid made it.
   */
  public boolean predates(Path file) {
    try {
      java.time.Instant made = Files.getLastModifiedTime(file).toInstant();
      java.util.Optional<java.time.Instant> started =
          ProcessHandle.of(pid).flatMap(h -> h.info().startInstant());
      return started.isPresent() && made.isBefore(started.get().minusSeconds(2));
    } catch (IOException e) {
      return false; // gone meanwhile, or unreadable: as before, the connection will tell
    }
  }

  public boolean sameMountNamespace() {
    try {
      return Files.readSymbolicLink(Path.of("/proc/self/ns/mnt"))
          .equals(Files.readSymbolicLink(proc.resolve("ns/mnt")));
    } catch (IOException e) {
      return false;
    }
  }

  private static List<String> environ(Path proc) {
    try {
      return split0(Files.readString(proc.resolve("environ"), StandardCharsets.ISO_8859_1));
    } catch (IOException e) {
      return List.of(); // unreadable environ only loses the env-variable check
    }
  }

  private static String read(Path p, long pid) throws AttachException {
    try {
      return Files.readString(p, StandardCharsets.ISO_8859_1);
    } catch (NoSuchFileException e) {
      throw new AttachException("not_found", "no process with pid " + pid, "the process may have exited", e);
    } catch (java.nio.file.AccessDeniedException e) {
      throw new AttachException("permission", "cannot read " + p + ": permission denied",
          "run the helper as root or as the JVM's user", e);
    } catch (IOException e) {
      throw new AttachException("io", "cannot read " + p + ": " + e.getMessage(), "check /proc is mounted", e);
    }
  }

  private static List<String> split0(String s) {
    List<String> out = new ArrayList<>();
    for (String part : s.split("\0")) {
      if (!part.isEmpty()) out.add(part);
    }
    return out;
  }
}
