package io.demarc.agent;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A ChildApp JVM and the line protocol to drive it. */
final class Child implements AutoCloseable {
  final Process process;
  /** The child's {@code java.io.tmpdir} when this class made it; null otherwise. */
  private final Path tmpDir;
  private final BufferedReader out;
  private final PrintWriter in;

  /** One batch of calls as the application itself counted them. */
  record Result(int ok, int failed, long meanNs) {}

  Child(Path java, Path keystore, Path log, String... jvmArgs) throws IOException {
    this(ChildApp.class.getName(), java, keystore, log, jvmArgs);
  }

  Child(String mainClass, Path java, Path keystore, Path log, String... jvmArgs) throws IOException {
    this(mainClass, TestJars.childClassPath(), java, keystore, log, jvmArgs);
  }

  Child(String mainClass, String classPath, Path java, Path keystore, Path log, String... jvmArgs)
      throws IOException {
    this(Files.createTempDirectory("demarc-child-"), mainClass, classPath, java, keystore, log, jvmArgs);
  }

  /**
   * With {@code tmp} as its {@code java.io.tmpdir}, removed at {@link #close}: what the child
   * leaves there (Tomcat's base dirs, the agent's boot jar of a JVM that was killed) goes with it.
   * A {@code -Djava.io.tmpdir} among {@code jvmArgs} comes later and wins.
   */
  private Child(Path tmp, String mainClass, String classPath, Path java, Path keystore, Path log,
      String... jvmArgs) throws IOException {
    this(command(mainClass, classPath, java, keystore, withFirst("-Djava.io.tmpdir=" + tmp, jvmArgs)), log, tmp);
  }

  private static String[] withFirst(String first, String[] rest) {
    String[] all = new String[rest.length + 1];
    all[0] = first;
    System.arraycopy(rest, 0, all, 1, rest.length);
    return all;
  }

  static List<String> command(String mainClass, String classPath, Path java, Path keystore, String... jvmArgs) {
    List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx256m", "-XX:TieredStopAtLevel=1"));
    cmd.addAll(List.of(jvmArgs));
    cmd.addAll(List.of("-cp", classPath, mainClass));
    if (keystore != null) cmd.add(keystore.toString());
    return cmd;
  }

  /** Any command that ends up exec'ing a ChildApp-like JVM under the same pid. */
  Child(List<String> cmd, Path log) throws IOException {
    this(cmd, log, null);
  }

  private Child(List<String> cmd, Path log, Path tmpDir) throws IOException {
    this.tmpDir = tmpDir;
    process = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
    out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
    String first = out.readLine();
    if (!"ready".equals(first)) throw new IOException("child did not start: " + first + " (see " + log + ")");
  }

  long pid() {
    return process.pid();
  }

  String command(String line) throws IOException {
    in.println(line);
    String r = out.readLine();
    if (r == null || r.startsWith("error")) throw new IOException("child: " + r);
    return r;
  }

  Result run(String lib, int n, String path) throws IOException {
    return parse(command("run " + lib + " " + n + " " + path));
  }

  /** For apps with a single client: "run N argument". */
  Result run(int n, String argument) throws IOException {
    return parse(command("run " + n + " " + argument));
  }

  private static Result parse(String line) {
    String[] w = line.split(" ");
    return new Result(Integer.parseInt(w[1]), Integer.parseInt(w[2]), Long.parseLong(w[3]));
  }

  /** [threads, loaded classes]. */
  long[] stats() throws IOException {
    String[] w = command("stats").split(" ");
    return new long[] {Long.parseLong(w[1]), Long.parseLong(w[2])};
  }

  /** The child's system property, or "-" when unset. */
  String prop(String name) throws IOException {
    return command("prop " + name).substring(5);
  }

  String demarcThreads() throws IOException {
    return command("stats").split(" ")[3];
  }

  @Override
  public void close() throws Exception {
    in.println("quit");
    if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    if (tmpDir != null && !process.isAlive()) Support.deleteTree(tmpDir);
  }

  /** The child's {@code java.io.tmpdir} (unless the command set another), or null. */
  Path tmpDir() {
    return tmpDir;
  }
}
