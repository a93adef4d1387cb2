package io.demarc.attach;

import java.util.Map;
import java.util.Properties;

/** The helper's three commands over one target pid; each returns the JSON result object. */
final class Commands {
  /** Set by the agent while it is loaded (cleared on detach). */
  static final String PROP_LOADED = "demarc.agent.version";
  /** Set by the agent on first load and never cleared: its classes stay in the JVM for good. */
  static final String PROP_CLASSES = "demarc.agent.classes";
  private final long pid;
  /** The whole command's budget: every step gets what the steps before it left. */
  private final long timeoutMs;
  private final long started = System.nanoTime();

  Commands(long pid, long timeoutMs) {
    this.pid = pid;
    this.timeoutMs = timeoutMs;
  }

  /** What is left of the command's budget for {@code step}; a timeout when nothing is. */
  long left(String step) throws AttachException {
    long left = timeoutMs - (System.nanoTime() - started) / 1_000_000;
    if (left <= 0) {
      throw new AttachException("timeout", "the command's budget of " + timeoutMs + " ms ran out before " + step
          + " (pid " + pid + ")", "raise --timeout-ms (the jvm probe's attach_timeout param)");
    }
    return left;
  }

  Map<String, Object> check(java.nio.file.Path agentOrNull) throws AttachException {
    Target t = Target.inspect(pid);
    AttachListener l = new AttachListener(t, left("starting the attach listener"));
    l.ensureStarted();
    Properties p = l.systemProperties(left("reading system properties"));
    Map<String, Object> o = result(t, p);
    o.put("attachable", true);
    if (agentOrNull != null) {
      String want = AgentJar.open(agentOrNull).version();
      o.put("expectedAgentVersion", want);
      o.put("conflict", conflict(p, want));
    }
    return o;
  }

  Map<String, Object> attach(AgentJar jar, String args) throws AttachException {
    if (args.isEmpty()) {
      throw new AttachException("bad_input", "no agent arguments on stdin",
          "write socket=...;secret=...;version=... to the helper's stdin");
    }
    Target t = Target.inspect(pid);
    AttachListener l = new AttachListener(t, left("starting the attach listener"));
    l.ensureStarted();
    Properties before = l.systemProperties(left("reading system properties"));
    String conflict = conflict(before, jar.version());
    if (conflict != null) {
      throw new AttachException("version_conflict", conflict, "detach the other agent or restart the JVM");
    }
    String path = jar.pathFor(t);
    // Loading retransforms the application's loaded classes: the longest step by far.
    l.loadAgent(path, args, left("loading the agent"));
    Properties after = l.systemProperties(left("checking the agent started"));
    if (!jar.version().equals(after.getProperty(PROP_LOADED))) {
      throw new AttachException("load_failed", "the agent loaded but did not start (no " + PROP_LOADED + ")",
          "see the JVM's stderr");
    }
    Map<String, Object> o = result(t, after);
    o.put("agentPath", path);
    o.put("alreadyLoaded", before.getProperty(PROP_LOADED) != null);
    return o;
  }

  Map<String, Object> detach(AgentJar jar) throws AttachException {
    Target t = Target.inspect(pid);
    AttachListener l = new AttachListener(t, left("starting the attach listener"));
    l.ensureStarted();
    Properties before = l.systemProperties(left("reading system properties"));
    Map<String, Object> o;
    if (before.getProperty(PROP_LOADED) == null) {
      o = result(t, before);
      o.put("detached", false);
      o.put("reason", "no demarc agent loaded");
      return o;
    }
    l.loadAgent(jar.pathFor(t), "command=detach", left("detaching the agent"));
    Properties after = l.systemProperties(left("checking the agent detached"));
    if (after.getProperty(PROP_LOADED) != null) {
      throw new AttachException("load_failed", "the agent is still loaded after detach", "see the JVM's stderr");
    }
    o = result(t, after);
    o.put("detached", true);
    return o;
  }

  /** Why loading {@code want} would clash with what the JVM carries, or null. */
  static String conflict(Properties p, String want) {
    String loaded = p.getProperty(PROP_LOADED);
    if (loaded != null && !loaded.equals(want)) {
      return "JVM already carries demarc agent " + loaded + " (wanted " + want + ")";
    }
    String classes = p.getProperty(PROP_CLASSES);
    if (classes != null && !classes.equals(want)) {
      return "JVM still holds the classes of demarc agent " + classes + " from an earlier attach (wanted " + want
          + "); classes cannot be unloaded, restart the JVM to change versions";
    }
    return null;
  }

  private Map<String, Object> result(Target t, Properties p) {
    Map<String, Object> o = Json.obj();
    o.put("ok", true);
    o.put("pid", t.pid);
    o.put("nspid", t.nspid);
    o.put("uid", t.uid);
    o.put("sameMountNamespace", t.sameMountNamespace());
    Map<String, Object> jvm = Json.obj();
    jvm.put("vendor", p.getProperty("java.vm.vendor", ""));
    jvm.put("version", p.getProperty("java.version", ""));
    jvm.put("vm", p.getProperty("java.vm.name", ""));
    o.put("jvm", jvm);
    o.put("agentVersion", p.getProperty(PROP_LOADED));
    o.put("elapsedMs", (System.nanoTime() - started) / 1_000_000);
    return o;
  }
}
