package io.demarc.attach;

import java.util.Map;
import java.util.Properties;

/** The helper's three commands over one target pid; each returns the JSON result object. */
final class Commands {
  /** Set by the agent while it is loaded (cleared on detach). */
  static final String PROP_LOADED = "demarc.agent.version";
  /** Set by the agent on first load and never cleared: its classes stay in the JVM for good. */
  static final String PROP_CLASSES = "demarc.agent.classes";
  /** Retransforming already-loaded classes takes longer than answering a command. */
  private static final long LOAD_TIMEOUT_MS = 30_000;

  private final long pid;
  private final long timeoutMs;
  private final long started = System.nanoTime();

  Commands(long pid, long timeoutMs) {
    this.pid = pid;
    this.timeoutMs = timeoutMs;
  }

  Map<String, Object> check(java.nio.file.Path agentOrNull) throws AttachException {
    Target t = Target.inspect(pid);
    AttachListener l = new AttachListener(t, timeoutMs);
    l.ensureStarted();
    Properties p = l.systemProperties(timeoutMs);
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
    AttachListener l = new AttachListener(t, timeoutMs);
    l.ensureStarted();
    Properties before = l.systemProperties(timeoutMs);
    String conflict = conflict(before, jar.version());
    if (conflict != null) {
      throw new AttachException("version_conflict", conflict, "detach the other agent or restart the JVM");
    }
    String path = jar.pathFor(t);
    l.loadAgent(path, args, Math.max(timeoutMs, LOAD_TIMEOUT_MS));
    Properties after = l.systemProperties(timeoutMs);
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
    AttachListener l = new AttachListener(t, timeoutMs);
    l.ensureStarted();
    Properties before = l.systemProperties(timeoutMs);
    Map<String, Object> o;
    if (before.getProperty(PROP_LOADED) == null) {
      o = result(t, before);
      o.put("detached", false);
      o.put("reason", "no demarc agent loaded");
      return o;
    }
    l.loadAgent(jar.pathFor(t), "command=detach", Math.max(timeoutMs, LOAD_TIMEOUT_MS));
    Properties after = l.systemProperties(timeoutMs);
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
