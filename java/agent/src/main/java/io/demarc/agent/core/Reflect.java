package io.demarc.agent.core;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Calls a public no-argument (or one-String) method of a library object from bootstrap code, which cannot name
 * the library's types (the agent's core sits on the boot class path). The method handle is
 * looked up once per concrete class through a public, exported supertype and then cached.
 * Typed {@code (Object)Object} ({@link #call}), {@code (Object)long} ({@link #longGetter},
 * {@link #callLong}: a number read without boxing it), or {@code (Object,String)Object}
 * ({@link #withStringArgument}, {@link #callWith}).
 */
public final class Reflect {
  private static final MethodType OBJECT = MethodType.methodType(Object.class, Object.class);
  private static final MethodType LONG = MethodType.methodType(long.class, Object.class);
  private static final MethodType STRING_ARGUMENT = MethodType.methodType(Object.class, Object.class, String.class);

  private final String name;
  private final MethodType handleType;
  private final ClassValue<MethodHandle> handles = new ClassValue<>() {
    @Override
    protected MethodHandle computeValue(Class<?> type) {
      return find(type);
    }
  };

  public Reflect(String name) {
    this(name, OBJECT);
  }

  private Reflect(String name, MethodType type) {
    this.name = name;
    this.handleType = type;
  }

  /** A method of one String argument (a map-like getter), called by {@link #callWith}. */
  public static Reflect withStringArgument(String name) {
    return new Reflect(name, STRING_ARGUMENT);
  }

  /** Invokes a {@link #withStringArgument} method, or returns {@code dflt} when it does not exist or throws. */
  public Object callWith(Object target, String argument, Object dflt) {
    if (target == null) return dflt;
    MethodHandle h = handles.get(target.getClass());
    if (h == null) return dflt;
    try {
      return (Object) h.invokeExact(target, argument);
    } catch (Throwable t) {
      Recorder.internalError(t);
      return dflt;
    }
  }

  /** A getter of a number (int or long), read by {@link #callLong}. */
  public static Reflect longGetter(String name) {
    return new Reflect(name, LONG);
  }

  /**
   * Invokes a {@link #longGetter}'s method, or returns {@code dflt} when the object has no such
   * method or it throws.
   */
  public long callLong(Object target, long dflt) {
    if (target == null) return dflt;
    MethodHandle h = handles.get(target.getClass());
    if (h == null) return dflt;
    try {
      return (long) h.invokeExact(target);
    } catch (Throwable t) {
      Recorder.internalError(t);
      return dflt;
    }
  }

  /** Invokes the method, or returns {@code dflt} when it does not exist or throws. */
  public Object call(Object target, Object dflt) {
    if (target == null) return dflt;
    MethodHandle h = handles.get(target.getClass());
    if (h == null) return dflt;
    try {
      // invokeExact: the handle was made (Object)Object; invoke() would re-check that type in a
      // generic invoker on every call (measured in the Dubbo provider's call path under JFR).
      return (Object) h.invokeExact(target);
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

  private MethodHandle find(Class<?> type) {
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
      todo.addAll(java.util.List.of(c.getInterfaces()));
    }
    return null;
  }
}
