package io.demarc.agent.core;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.MutableCallSite;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A monomorphic inline cache for calls into library classes the agent cannot name: a call site
 * linked, behind a check of the receiver's class, to the handle of the first class it meets;
 * every other class goes through a per-class cache. Held in a {@code static final} field (or a
 * record's field reached from one), its invoker is a constant to the JIT, which then inlines the
 * library's method like a direct call. A handle read from a cache at each call is invoked through
 * generic invokers instead, never inlined: in a Tomcat server's profile those were the agent's top
 * frames ({@code bench/jvm_profile.ts}).
 */
final class InlineCache {
  private static final MethodHandle IS_CLASS;
  private static final MethodHandle SELECT;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      IS_CLASS = l.findStatic(InlineCache.class, "isClass",
          MethodType.methodType(boolean.class, Class.class, Object.class));
      SELECT = l.findVirtual(InlineCache.class, "select", MethodType.methodType(MethodHandle.class, Object.class));
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final MethodType type;
  private final MutableCallSite site;
  private final ClassValue<MethodHandle> handles;
  private final AtomicBoolean linked = new AtomicBoolean();

  private InlineCache(MethodType type, Function<Class<?>, MethodHandle> handleFor) {
    this.type = type;
    this.site = new MutableCallSite(type);
    this.handles = new ClassValue<>() {
      @Override
      protected MethodHandle computeValue(Class<?> c) {
        return handleFor.apply(c);
      }
    };
    site.setTarget(dispatcher());
  }

  /**
   * An invoker of {@code type}, whose first parameter is the receiver: it calls
   * {@code handleFor.apply(receiver.getClass())} (asked once per class; it must return a handle of
   * {@code type}, e.g. one that returns a default when the class lacks the method).
   */
  static MethodHandle invoker(MethodType type, Function<Class<?>, MethodHandle> handleFor) {
    return new InlineCache(type, handleFor).site.dynamicInvoker();
  }

  private static boolean isClass(Class<?> c, Object receiver) {
    return receiver.getClass() == c;
  }

  /** The handle for {@code receiver}'s class; the first class met is linked into the site. */
  private MethodHandle select(Object receiver) {
    Class<?> c = receiver.getClass();
    MethodHandle h = handles.get(c);
    if (linked.compareAndSet(false, true)) {
      site.setTarget(MethodHandles.guardWithTest(trailing(MethodHandles.insertArguments(IS_CLASS, 0, c)), h,
          dispatcher()));
    }
    return h;
  }

  /** (receiver, args...) → select(receiver).invokeExact(receiver, args...). */
  private MethodHandle dispatcher() {
    MethodHandle select = trailing(MethodHandles.insertArguments(SELECT, 0, this));
    return MethodHandles.foldArguments(MethodHandles.exactInvoker(type), select);
  }

  /** {@code h} of (receiver) taking and ignoring the site's other parameters too. */
  private MethodHandle trailing(MethodHandle h) {
    int n = type.parameterCount();
    return n > 1 ? MethodHandles.dropArguments(h, 1, type.parameterList().subList(1, n)) : h;
  }
}
