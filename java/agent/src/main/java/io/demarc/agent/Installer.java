package io.demarc.agent;

import static net.bytebuddy.matcher.ElementMatchers.isSynthetic;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;

import io.demarc.agent.core.BodyWait;
import io.demarc.agent.core.Config;
import io.demarc.agent.core.GrpcWire;
import io.demarc.agent.core.InFlight;
import io.demarc.agent.core.Json;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.Reporter;
import java.io.File;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.jar.JarFile;
import net.bytebuddy.agent.builder.AgentBuilder;
import net.bytebuddy.agent.builder.ResettableClassFileTransformer;
import net.bytebuddy.asm.Advice;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.dynamic.DynamicType;
import net.bytebuddy.implementation.bytecode.member.MethodInvocation;
import net.bytebuddy.utility.JavaModule;

/**
 * Installs and uninstalls the agent. One instance at a time per JVM; this class and its state
 * survive detach (the system class loader keeps it), so a later attach reuses them.
 */
public final class Installer {
  public static final String PROP_LOADED = "demarc.agent.version";
  public static final String PROP_CLASSES = "demarc.agent.classes";
  /**
   * The instrumentation names whose hooks are not installed, comma-separated ("" when all are),
   * set once the hooks in place match them (for diagnostics: {@code jcmd <pid> VM.system_properties}).
   */
  public static final String PROP_DISABLED = "demarc.agent.disabled";

  /**
   * Guards {@link #transformer}, {@link #instrumentation} and {@link #disabled}. Taken by the
   * reader thread (CONFIG) without the class lock: {@link #uninstall} holds the class lock while it
   * joins the agent's threads, so the reader must never wait for that one.
   */
  private static final Object HOOKS = new Object();
  private static ResettableClassFileTransformer transformer;
  private static Reporter reporter;
  private static Instrumentation instrumentation;
  /**
   * Instrumentation names (probe.yaml) whose hooks are not installed: the {@code disabled} agent
   * argument at attach, then each CONFIG's {@code disabled}.
   */
  private static volatile Set<String> disabled = Set.of();
  /** Hook name → how many types it transformed since the last install (for HELLO). */
  private static final Map<String, Integer> APPLIED = new ConcurrentHashMap<>();
  /** Bumped after every change of {@link #APPLIED}: {@link #instrumentationsJson} is made again only then. */
  private static final AtomicInteger APPLIED_VERSION = new AtomicInteger();
  /** The last list made, with the version and disabled set it was made from. */
  private record Listed(int version, Set<String> disabled, String json) {}

  private static volatile Listed listed;

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
    synchronized (HOOKS) {
      disabled = parseNames(args.getOrDefault("disabled", ""));
      instrumentation = inst;
      APPLIED.clear();
      APPLIED_VERSION.incrementAndGet();
      transformer = build(inst, disabled).installOn(inst);
      System.setProperty(PROP_DISABLED, String.join(",", new java.util.TreeSet<>(disabled)));
    }
    reporter = newReporter(socket, secret, version);
    reporter.start();
    System.setProperty(PROP_CLASSES, version);
    System.setProperty(PROP_LOADED, version);
  }

  /** Stops measuring, restores the original classes, closes the channel. Safe to call twice. */
  public static synchronized void uninstall(String reason) {
    Recorder.activate(false);
    synchronized (HOOKS) {
      if (transformer != null) {
        try {
          transformer.reset(instrumentation, AgentBuilder.RedefinitionStrategy.RETRANSFORMATION);
        } catch (RuntimeException e) {
          Recorder.internalError(e);
        }
        transformer = null;
      }
      instrumentation = null;
      System.clearProperty(PROP_DISABLED);
    }
    if (reporter != null) {
      reporter.stop(reason);
      reporter = null;
    }
    InFlight.clear();
    BodyWait.clear();
    GrpcWire.clear();
    Recorder.throwForTest(false);
    System.clearProperty(PROP_LOADED);
  }

  private static Reporter newReporter(String socket, String secret, String version) {
    return new Reporter(socket, secret, version, Installer::instrumentationsJson, () -> uninstall("detach frame"),
        Installer::onConfig);
  }

  /**
   * Runs on the agent's reader thread with each CONFIG, before it takes effect. When the disabled
   * set changed, the hooks are installed again with only the enabled ones, in one pass and without
   * blocking application threads: the old transformer is deregistered (classes keep their current
   * code meanwhile, so no call goes unmeasured or is measured twice), the new one is installed
   * (retransforming the loaded classes of the enabled hooks), then the loaded classes of the
   * disabled hooks are retransformed with no transformer of ours left: back to their original code.
   */
  static void onConfig(Config c) {
    applyDisabled(c.disabled());
  }

  static void applyDisabled(Set<String> want) {
    synchronized (HOOKS) {
      Set<String> before = disabled;
      if (want.equals(before)) return;
      disabled = want;
      Instrumentation inst = instrumentation;
      if (transformer == null || inst == null) return;
      try {
        transformer.reset(inst, AgentBuilder.RedefinitionStrategy.DISABLED);
      } catch (RuntimeException e) {
        Recorder.internalError(e);
      }
      transformer = null;
      APPLIED.clear();
      APPLIED_VERSION.incrementAndGet();
      try {
        transformer = build(inst, want).installOn(inst);
      } catch (RuntimeException e) {
        Recorder.internalError(e);
      }
      // Only the newly disabled hooks' classes carry our code (the others were off already).
      java.util.HashSet<String> newlyOff = new java.util.HashSet<>(want);
      newlyOff.removeAll(before);
      restore(inst, newlyOff);
      System.setProperty(PROP_DISABLED, String.join(",", new java.util.TreeSet<>(want)));
    }
  }

  /** Retransforms the loaded classes of disabled hooks (none of ours applies to them any more). */
  private static void restore(Instrumentation inst, Set<String> off) {
    List<LibraryHook> hooks = new ArrayList<>();
    for (LibraryHook h : LibraryHook.ALL) if (off.contains(h.instrumentation())) hooks.add(h);
    if (hooks.isEmpty()) return;
    List<Class<?>> classes = new ArrayList<>();
    for (Class<?> c : inst.getAllLoadedClasses()) {
      if (c.isArray() || c.isPrimitive() || c.isHidden() || !inst.isModifiableClass(c)) continue;
      try {
        TypeDescription t = TypeDescription.ForLoadedType.of(c);
        for (LibraryHook h : hooks) {
          if (h.types().matches(t)) {
            classes.add(c);
            break;
          }
        }
      } catch (RuntimeException | LinkageError e) {
        // a class whose hierarchy cannot be resolved is none of ours
      }
    }
    for (Class<?> c : classes) {
      try {
        inst.retransformClasses(c);
      } catch (Exception | LinkageError e) {
        Recorder.internalError("restoring " + c.getName(), e);
      }
    }
  }

  private static AgentBuilder build(Instrumentation inst, Set<String> off) {
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
      if (off.contains(h.instrumentation())) continue;
      AgentBuilder.Transformer.ForAdvice advice = new AgentBuilder.Transformer.ForAdvice()
          .include(Installer.class.getClassLoader())
          .withExceptionHandler(ADVICE_FAILED);
      for (LibraryHook.Method m : h.methods()) advice = advice.advice(m.matcher(), m.advice());
      b = b.type(h.types()).transform(new Counting(h.name(), advice));
    }
    return b;
  }

  /**
   * What advice's {@code suppress} does with what it caught: hands it to
   * {@link Recorder#internalError(Throwable)} (counted and described in the next report) instead of
   * dropping it unseen. The handler's code is inlined with the advice; the call consumes the throwable.
   */
  private static final Advice.ExceptionHandler ADVICE_FAILED = adviceFailedHandler();

  private static Advice.ExceptionHandler adviceFailedHandler() {
    try {
      return new Advice.ExceptionHandler.Simple(MethodInvocation.invoke(
          new MethodDescription.ForLoadedMethod(Recorder.class.getMethod("internalError", Throwable.class))));
    } catch (NoSuchMethodException e) {
      throw new IllegalStateException("Recorder.internalError(Throwable) is missing", e);
    }
  }

  /** Counts which instrumentation applied, then lets the advice transformer do the work. */
  private record Counting(String name, AgentBuilder.Transformer delegate) implements AgentBuilder.Transformer {
    @Override
    public DynamicType.Builder<?> transform(DynamicType.Builder<?> builder, TypeDescription type,
        ClassLoader loader, JavaModule module, ProtectionDomain pd) {
      noteApplied(name);
      return delegate.transform(builder, type, loader, module, pd);
    }
  }

  /** A class that fails to transform is left as it was; the failure is counted. */
  private static final class ErrorCounter extends AgentBuilder.Listener.Adapter {
    @Override
    public void onError(String typeName, ClassLoader loader, JavaModule module, boolean loaded, Throwable t) {
      Recorder.internalError("cannot instrument " + typeName, t);
      if (Boolean.getBoolean("demarc.agent.debug")) {
        System.err.println("demarc agent: cannot instrument " + typeName + ": " + t);
      }
    }
  }

  /**
   * HELLO's entries: one per instrumentation name (probe.yaml), in table order; {@code hooks} and
   * {@code covers} detail its hooks. Active when one of its hooks changed a class.
   */
  /** Hook {@code name} transformed a type. */
  static void noteApplied(String name) {
    APPLIED.merge(name, 1, Integer::sum);
    APPLIED_VERSION.incrementAndGet(); // after the merge: a list made from the new version includes it
  }

  /**
   * {@link #listInstrumentations}, made again only when a hook applied or the disabled set changed
   * since the last one: the sender asks at every report, where making it (interpreted, as code run
   * once a period stays) took 100-400 µs of its CPU.
   */
  static String instrumentationsJson() {
    int version = APPLIED_VERSION.get(); // before what the list is made from: a change after it makes a new one next time
    Set<String> off = disabled;
    Listed last = listed;
    if (last != null && last.version() == version && last.disabled() == off) return last.json();
    String json = listInstrumentations(off);
    listed = new Listed(version, off, json);
    return json;
  }

  /** The instrumentations, each with its hooks, whether it is active, and why not. */
  private static String listInstrumentations(Set<String> off) {
    Map<String, List<LibraryHook>> byName = new LinkedHashMap<>();
    for (LibraryHook h : LibraryHook.ALL) byName.computeIfAbsent(h.instrumentation(), k -> new ArrayList<>()).add(h);
    StringBuilder sb = new StringBuilder("[");
    for (Map.Entry<String, List<LibraryHook>> e : byName.entrySet()) {
      if (sb.length() > 1) sb.append(',');
      boolean isOff = off.contains(e.getKey());
      int n = 0;
      for (LibraryHook h : e.getValue()) n += APPLIED.getOrDefault(h.name(), 0);
      sb.append('{');
      Json.key(sb, "name");
      Json.string(sb, e.getKey());
      Json.key(sb, "active").append(!isOff && n > 0);
      if (isOff || n == 0) {
        Json.key(sb, "reason");
        Json.string(sb, isOff ? "disabled by config" : "no class of the library loaded (yet)");
      }
      Json.key(sb, "hooks").append('[');
      StringBuilder covers = new StringBuilder();
      for (LibraryHook h : e.getValue()) {
        if (covers.length() > 0) {
          sb.append(',');
          covers.append("; ");
        }
        Json.string(sb, h.name());
        covers.append(h.covers());
      }
      sb.append(']');
      Json.key(sb, "covers");
      Json.string(sb, covers.toString());
      sb.append('}');
    }
    return sb.append(']').toString();
  }

  /** "a,b" → {a, b} (blanks dropped). */
  static Set<String> parseNames(String s) {
    java.util.TreeSet<String> out = new java.util.TreeSet<>();
    for (String n : s.split(",")) if (!n.isBlank()) out.add(n.trim());
    return Set.copyOf(out);
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
