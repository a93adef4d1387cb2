package io.demarc.attach;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code java -jar demarc-attach.jar attach|check|detach --pid N [--agent JAR] [--timeout-ms MS]}.
 * {@code --timeout-ms} is the whole command's budget (default 20000), shared by its steps.
 * Prints one JSON line and exits 0 (ok) or 1. {@code attach} reads the agent's argument string
 * from stdin so the per-attach secret never shows on a command line.
 */
public final class Main {
  private Main() {}

  public static void main(String[] argv) {
    Map<String, Object> out = run(argv, System.in);
    PrintStream stdout = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    stdout.println(Json.write(out));
    System.exit(Boolean.TRUE.equals(out.get("ok")) ? 0 : 1);
  }

  /** Runs one command and returns the result object (never throws). */
  public static Map<String, Object> run(String[] argv, java.io.InputStream stdin) {
    try {
      Map<String, String> opts = parse(argv);
      String cmd = opts.get("");
      long pid = parsePid(opts.get("pid"));
      long timeout = Long.parseLong(opts.getOrDefault("timeout-ms", "20000"));
      Commands c = new Commands(pid, timeout);
      return switch (cmd) {
        case "check" -> c.check(agentPathOrNull(opts));
        case "attach" -> c.attach(AgentJar.open(agentPath(opts)), readArgs(stdin));
        case "detach" -> c.detach(AgentJar.open(agentPath(opts)));
        default -> throw usage("unknown command '" + cmd + "'");
      };
    } catch (AttachException e) {
      Map<String, Object> o = Json.obj();
      o.put("ok", false);
      o.put("code", e.code());
      o.put("error", e.getMessage());
      o.put("hint", e.hint());
      return o;
    } catch (RuntimeException e) {
      Map<String, Object> o = Json.obj();
      o.put("ok", false);
      o.put("code", "internal");
      o.put("error", e.toString());
      o.put("hint", "this is a bug in the attach helper");
      return o;
    }
  }

  private static Map<String, String> parse(String[] argv) throws AttachException {
    if (argv.length == 0) throw usage("no command");
    Map<String, String> m = new HashMap<>();
    m.put("", argv[0]);
    for (int i = 1; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--") || i + 1 >= argv.length) throw usage("bad argument '" + a + "'");
      m.put(a.substring(2), argv[++i]);
    }
    return m;
  }

  private static long parsePid(String s) throws AttachException {
    if (s == null) throw usage("--pid is required");
    try {
      long pid = Long.parseLong(s);
      if (pid <= 0) throw new NumberFormatException();
      return pid;
    } catch (NumberFormatException e) {
      throw usage("--pid must be a positive integer, got '" + s + "'");
    }
  }

  private static Path agentPath(Map<String, String> opts) throws AttachException {
    Path p = agentPathOrNull(opts);
    if (p == null) throw usage("--agent is required (no demarc-agent.jar beside the helper)");
    return p;
  }

  /** Defaults to demarc-agent.jar beside this helper's jar (both land in build/java/). */
  private static Path agentPathOrNull(Map<String, String> opts) {
    if (opts.containsKey("agent")) return Path.of(opts.get("agent"));
    try {
      Path self = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path sibling = self.resolveSibling("demarc-agent.jar");
      return java.nio.file.Files.isRegularFile(sibling) ? sibling : null;
    } catch (Exception e) {
      return null;
    }
  }

  private static String readArgs(java.io.InputStream stdin) throws AttachException {
    try {
      String s = new String(stdin.readAllBytes(), StandardCharsets.UTF_8).strip();
      if (s.indexOf('\0') >= 0) throw usage("agent arguments on stdin contain a NUL byte");
      return s;
    } catch (IOException e) {
      throw new AttachException("bad_input", "cannot read agent arguments from stdin", "", e);
    }
  }

  private static AttachException usage(String why) {
    return new AttachException("bad_input", why,
        "usage: demarc-attach.jar attach|check|detach --pid N [--agent demarc-agent.jar] [--timeout-ms 20000]"
            + " (attach reads the agent argument string from stdin)");
  }
}
