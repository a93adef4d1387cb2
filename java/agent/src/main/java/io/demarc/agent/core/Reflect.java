package io.demarc.agent.core;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.MutableCallSite;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * Calls a public no-argument (or one-String) method of a library object from bootstrap code, which
 * cannot name the library's types (the agent's core sits on the boot class path). The method handle
 * is looked up once per concrete class through a public, exported supertype. Typed
 * {@code (Object)Object} ({@link #call}), {@code (Object)long} ({@link #longGetter},
 * {@link #callLong}: a number read without boxing it), or {@code (Object,String)Object}
 * ({@link #withStringArgument}, {@link #callWith}).
 *
 * <p>Calls go through an inline cache: a call site whose target tests the receiver's class against
 * the classes seen so far (up to {@value #MAX_LINKED}) and calls each one's method directly; any
 * other class takes the slow path (the per-class table, which also links the class). Held in a
 * {@code static final} field, a record's call site is a constant to the JIT, which then compiles
 * the class test and the library's method into the caller: a getter costs its field loads. Looked
 * up per call instead (a {@link ClassValue}, then a method handle that is not a constant), the
 * lookup's entries, the handle's objects and its adapter code were ~15 cache lines per call, each
 * a miss in a JVM sharing its CPU ({@code bench/jvm_profile.ts}: a third of the Tomcat server's
 * agent samples).
 *
 * <p>A class without the method links a handle that returns a marker, so it too is answered
 * inline ({@code dflt}). Make instances with the factories, into {@code static final} fields.
 *
 * @param name what is called, for messages
 * @param invoker calls through the inline cache
 * @param linker the cache's slow path and state
 */
public record Reflect(String name, MethodHandle invoker, Linker linker) {
  private static final MethodType OBJECT = MethodType.methodType(Object.class, Object.class);
  private static final MethodType LONG = MethodType.methodType(long.class, Object.class);
  private static final MethodType STRING_ARGUMENT = MethodType.methodType(Object.class, Object.class, String.class);
  /** What a class without the method answers, for {@code Object} results. */
  private static final Object MISSING = new Object();
  /** What a class without the method answers, for {@code long} results (no getter of counts returns it). */
  private static final long MISSING_LONG = Long.MIN_VALUE;
  /** Classes an inline cache calls directly; more go the slow path (a library's classes are few). */
  static final int MAX_LINKED = 4;
  /** Every cache: detach unlinks them (their sites hold the application's classes). */
  private static final List<Linker> ALL = new CopyOnWriteArrayList<>();

  private static final MethodHandle HANDLE_FOR;
  private static final MethodHandle SAME_CLASS;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      HANDLE_FOR = l.findStatic(Reflect.class, "handleFor",
          MethodType.methodType(MethodHandle.class, Linker.class, Object.class));
      SAME_CLASS = l.findStatic(Reflect.class, "sameClass",
          MethodType.methodType(boolean.class, Class.class, Object.class));
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  public Reflect(String name) {
    this(name, new Linker(OBJECT, byName(name, OBJECT)));
  }

  private Reflect(String name, Linker linker) {
    this(name, linker.site.dynamicInvoker(), linker);
  }

  /** A method of one String argument (a map-like getter), called by {@link #callWith}. */
  public static Reflect withStringArgument(String name) {
    return new Reflect(name, new Linker(STRING_ARGUMENT, byName(name, STRING_ARGUMENT)));
  }

  /** A getter of a number (int or long), read by {@link #callLong}. */
  public static Reflect longGetter(String name) {
    return new Reflect(name, new Linker(LONG, byName(name, LONG)));
  }

  /**
   * A getter of a number through handles of the agent's making: {@code finder} gives a class's
   * {@code (Object)long} handle, or null when the class has none.
   */
  static Reflect longGetter(String name, Function<Class<?>, MethodHandle> finder) {
    return new Reflect(name, new Linker(LONG, finder));
  }

  /** Invokes a {@link #withStringArgument} method, or returns {@code dflt} when it does not exist or throws. */
  public Object callWith(Object target, String argument, Object dflt) {
    if (target == null) return dflt;
    try {
      Object v = (Object) invoker.invokeExact(target, argument);
      return v == MISSING ? dflt : v;
    } catch (Throwable t) {
      Recorder.internalError(t);
      return dflt;
    }
  }

  /**
   * Invokes a {@link #longGetter}'s method, or returns {@code dflt} when the object has no such
   * method or it throws.
   */
  public long callLong(Object target, long dflt) {
    if (target == null) return dflt;
    try {
      long v = (long) invoker.invokeExact(target);
      return v == MISSING_LONG ? dflt : v;
    } catch (Throwable t) {
      Recorder.internalError(t);
      return dflt;
    }
  }

  /** Invokes the method, or returns {@code dflt} when it does not exist or throws. */
  public Object call(Object target, Object dflt) {
    if (target == null) return dflt;
    try {
      // invokeExact: the handles are made (Object)Object; invoke() would re-check that type in a
      // generic invoker on every call (measured in the Dubbo provider's call path under JFR).
      Object v = (Object) invoker.invokeExact(target);
      return v == MISSING ? dflt : v;
    } catch (Throwable t) {
      Recorder.internalError(t);
      return dflt;
    }
  }

  public int callInt(Object target, int dflt) {
    return call(target, null) instanceof Number n ? n.intValue() : dflt;
  }

  public boolean callBool(Object target) {
    return call(target, null) instanceof Boolean b && b;
  }

  /** Classes the inline cache calls directly now. */
  int linked() {
    return linker.linked();
  }

  /** Detach: every inline cache back to its slow path, holding no application class. */
  static void unlinkAll() {
    for (Linker l : ALL) l.unlink();
  }

  /**
   * The slow path's choice: the receiver's class's handle from the table (then invoked exactly, as
   * before the caches), linked into the site while there is room.
   */
  private static MethodHandle handleFor(Linker l, Object receiver) {
    Class<?> type = receiver.getClass();
    MethodHandle h = l.handles.get(type);
    l.link(type, h);
    return h;
  }

  /** An inline cache's call site, its slow path and the classes linked into it. */
  static final class Linker {
    private final MethodType type;
    private final ClassValue<MethodHandle> handles;
    private final MutableCallSite site;
    private final MethodHandle fallback;
    private final List<Class<?>> linked = new ArrayList<>();
    /** {@code linked} has reached {@link #MAX_LINKED}. */
    private volatile boolean full;

    Linker(MethodType type, Function<Class<?>, MethodHandle> finder) {
      this.type = type;
      handles = table(type, finder);
      site = new MutableCallSite(type);
      // The receiver's handle, then that handle invoked exactly with all the arguments.
      fallback = MethodHandles.foldArguments(MethodHandles.exactInvoker(type),
          MethodHandles.insertArguments(HANDLE_FOR, 0, this));
      site.setTarget(fallback);
      ALL.add(this);
    }

    /** The site tests for class {@code c} first: calls {@code h} for it, else what the site did before. */
    void link(Class<?> c, MethodHandle h) {
      if (full) return; // the classes past the first few: no lock per call
      synchronized (this) {
        if (linked.size() >= MAX_LINKED || linked.contains(c)) return;
        MethodHandle test = MethodHandles.dropArguments(MethodHandles.insertArguments(SAME_CLASS, 0, c), 1,
            type.parameterList().subList(1, type.parameterCount()));
        site.setTarget(MethodHandles.guardWithTest(test, h, site.getTarget()));
        linked.add(c);
        full = linked.size() >= MAX_LINKED;
      }
    }

    synchronized void unlink() {
      site.setTarget(fallback);
      linked.clear();
      full = false;
    }

    synchronized int linked() {
      return linked.size();
    }
  }

  private static boolean sameClass(Class<?> type, Object o) {
    return o.getClass() == type;
  }

  private static ClassValue<MethodHandle> table(MethodType type, Function<Class<?>, MethodHandle> finder) {
    MethodHandle missing = MethodHandles.dropArguments(
        MethodHandles.constant(type.returnType(), type.returnType() == long.class ? (Object) MISSING_LONG : MISSING),
        0, type.parameterList());
    return new ClassValue<>() {
      @Override
      protected MethodHandle computeValue(Class<?> c) {
        MethodHandle h = finder.apply(c);
        return h != null ? h : missing;
      }
    };
  }

  private static Function<Class<?>, MethodHandle> byName(String name, MethodType type) {
    return type0 -> find(type0, name, type);
  }

  private static MethodHandle find(Class<?> type, String name, MethodType handleType) {
    Deque<Class<?>> todo = new ArrayDeque<>();
    todo.add(type);
    while (!todo.isEmpty()) {
      Class<?> c = todo.poll();
      if (Modifier.isPublic(c.getModifiers()) && c.getModule().isExported(c.getPackageName())) {
        try {
          Method m = handleType == STRING_ARGUMENT ? c.getMethod(name, String.class) : c.getMethod(name);
          return MethodHandles.publicLookup().unreflect(m).asType(handleType);
        } catch (ReflectiveOperationException | RuntimeException e) {
          // not here; keep looking
        }
      }
      if (c.getSuperclass() != null) todo.add(c.getSuperclass());
      todo.addAll(List.of(c.getInterfaces()));
    }
    return null;
  }
}
