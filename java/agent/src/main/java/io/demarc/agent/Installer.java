package io.demarc.agent;

import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;

import io.demarc.agent.core.BodyWait;
import io.demarc.agent.core.InFlight;
import io.demarc.agent.core.Json;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.Reporter;
import java.io.File;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.jar.JarFile;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.utility.JavaModule;

/**
 * Installs and uninstalls the agent. One instance at a time per JVM; this class and its state
 * survive detach (the system class loader keeps it), so a later attach reuses them.
 */
public final class Installer {
  public static final String PROP_LOADED = "demarc.agent.version";
  public static final String PROP_CLASSES = "demarc.agent.classes";

  private static ResettableClassFileTransformer transformer;
  private static Reporter reporter;
  private static Instrumentation instrumentation;
  /** Instrumentation name → how many types it transformed (for HELLO). */
  private static final Map<String, Integer> APPLIED = new ConcurrentHashMap<>();

  private Installer() {}

  /** Called by AgentMain with the agent argument string (PROTOCOL.md "Agent arguments"). */
  public static synchronized void run(String argString, Instrumentation inst) {
    Map<String, String> args = parseArgs(argString);
    if ("detach".equals(args.get("command"))) {
      uninstall("detach command");
      return;
    }
    String version = version();
    String want = args.get("version");
    if (want != null && !want.equals(version)) {
      throw new IllegalArgumentException("runner expects agent " + want + " but this jar is " + version);
    }
    String socket = require(args, "socket");
    String secret = require(args, "secret");
    if (transformer != null) {
      // Attached again while running (e.g. the runner restarted and lost its socket): switch over.
      reporter.stop("reconfigured");
      reporter = newReporter(socket, secret, version);
      reporter.start();
      return;
    }
    Recorder.reset();
    Recorder.throwForTest("throw".equals(args.get("debug")));
    instrumentation = inst;
    APPLIED.clear();
    transformer = build(inst).installOn(inst);
    reporter = newReporter(socket, secret, version);
    reporter.start();
    System.setProperty(PROP_CLASSES, version);
    System.setProperty(PROP_LOADED, version);
  }

  /** Stops measuring, restores the original classes, closes the channel. Safe to call twice. */
  public static synchronized void uninstall(String reason) {
    Recorder.activate(false);
    if (transformer != null) {
      try {
        transformer.reset(instrumentation, AgentBuilder.RedefinitionStrategy.RETRANSFORMATION);
      } catch (RuntimeException e) {
        Recorder.internalError();
      }
      transformer = null;
    }
    if (reporter != null) {
      reporter.stop(reason);
      reporter = null;
    }
    InFlight.clear();
    BodyWait.clear();
    Recorder.throwForTest(false);
    instrumentation = null;
    System.clearProperty(PROP_LOADED);
  }

  private static Reporter newReporter(String socket, String secret, String version) {
    return new Reporter(socket, secret, version, Installer::instrumentationsJson, () -> uninstall("detach frame"));
  }

  private static AgentBuilder build(Instrumentation inst) {
    // ByteBuddy's sun.misc.Unsafe class injection is not needed (the core goes to the boot class
    // path through Instrumentation) and makes JDK 24+ print warnings into the application's log.
    // Shading rewrites this name to the relocated copy's, so the application's own ByteBuddy is
    // not affected.
    System.setProperty("net.bytebuddy.safe", "true");
    AgentBuilder b = new AgentBuilder.Default()
        .disableClassFormatChanges()
        .with(AgentBuilder.RedefinitionStrategy.RETRANSFORMATION)
        .with(new ErrorCounter())
        // Unlike the default, JDK classes are fair game (HttpURLConnection, HttpClient...).
        .ignore(nameStartsWith("io.demarc.agent.").or(nameStartsWith("net.bytebuddy.")).or(isSynthetic()))
        // Advice inlined into named modules (java.base...) must be able to read the core's module.
        .assureReadEdgeTo(inst, Recorder.class);
    for (LibraryHook h : LibraryHook.ALL) {
      AgentBuilder.Transformer.ForAdvice advice = new AgentBuilder.Transformer.ForAdvice()
          .include(Installer.class.getClassLoader());
      for (LibraryHook.Method m : h.methods()) advice = advice.advice(m.matcher(), m.advice());
      b = b.type(h.types()).transform(new Counting(h.name(), advice));
    }
    return b;
  }

  /** Counts which instrumentation applied, then lets the advice transformer do the work. */
  private record Counting(String name, AgentBuilder.Transformer delegate) implements AgentBuilder.Transformer {
    @Override
    public DynamicType.Builder<?> transform(DynamicType.Builder<?> builder, TypeDescription type,
        ClassLoader loader, JavaModule module, ProtectionDomain pd) {
      APPLIED.merge(name, 1, Integer::sum);
      return delegate.transform(builder, type, loader, module, pd);
    }
  }

  /** A class that fails to transform is left as it was; the failure is counted. */
  private static final class ErrorCounter extends AgentBuilder.Listener.Adapter {
    @Override
    public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable t) {
      Recorder.internalError();
      if (Boolean.getBoolean("demarc.agent.debug")) {
        System.err.println("demarc agent: cannot instrument " + typeName + ": " + t);
      }
    }
  }

  static String instrumentationsJson() {
    StringBuilder sb = new StringBuilder("[");
    for (LibraryHook h : LibraryHook.ALL) {
      if (sb.length() > 1) sb.append(',');
      int n = APPLIED.getOrDefault(h.name(), 0);
      sb.append('{');
      Json.key(sb, "name");
      Json.string(sb, h.name());
      Json.key(sb, "active").append(n > 0);
      if (n == 0) {
        Json.key(sb, "reason");
        Json.string(sb, "no class of the library loaded (yet)");
      }
      Json.key(sb, "covers");
      Json.string(sb, h.covers());
      sb.append('}');
    }
    return sb.append(']').toString();
  }

  static Map<String, String> parseArgs(String s) {
    Map<String, String> m = new LinkedHashMap<>();
    if (s == null) return m;
    for (String part : s.split(";")) {
      int eq = part.indexOf('=');
      if (eq > 0) m.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
    }
    return m;
  }

  private static String require(Map<String, String> args, String key) {
    String v = args.get(key);
    if (v == null || v.isEmpty()) throw new IllegalArgumentException("agent argument '" + key + "' is missing");
    return v;
  }

  /** Package versions are not defined for jars appended at attach time: read the manifest. */
  static String version() {
    try {
      File src = new File(Installer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (src.isFile()) {
        try (JarFile jf = new JarFile(src)) {
          String v = jf.getManifest().getMainAttributes().getValue("Implementation-Version");
          if (v != null) return v;
        }
      }
    } catch (Exception e) {
      // fall through
    }
    return "dev";
  }
}
