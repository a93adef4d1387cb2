package io.demarc.agent.core;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A servlet's routes (its context path + the mapping pattern a request matched), worked out once
 * per servlet instance from its registration's mappings. Asking the request instead,
 * {@code getHttpServletMapping()}, makes Tomcat build a mapping object and three or four strings
 * per request (176 B, measured by {@code HttpHookAllocationTest}). A servlet with one mapping
 * answers every request with it; one with several maps the request's servlet path to the
 * pattern that yields it (the Servlet spec's matching: an exact or {@code /x/*} mapping gives the
 * servlet path {@code /x}, an extension mapping a path ending in it, the default mapping any
 * other path). A servlet path no mapping explains, or one that two mappings explain (the same
 * servlet under {@code /x} and {@code /x/*}), answers null: the advice then asks the request.
 *
 * <p>Mappings are read once per servlet instance while the recorder is active: a mapping added
 * to a running servlet later is seen after the next detach. Kept in a {@link SlotCache} of
 * 256 slots (servlets sharing a slot take turns in it); entries hold the servlet weakly (a web
 * application can be undeployed while attached) and are dropped at detach.
 */
public final class ServletRoutes {
  private static final SlotCache CACHE = new SlotCache(8);
  /** The value of a servlet path two mappings give (compared by identity): ask the request. */
  private static final String ASK = new String("ask the request");

  private final WeakReference<Object> servlet;
  /** A Spring MVC DispatcherServlet (a FrameworkServlet): its requests carry the best matching pattern. */
  private final boolean springMvc;
  /** The route of every request when the servlet has exactly one mapping, else null. */
  private final String single;
  /** Servlet path → route, for exact and path ({@code /x/*}) mappings, or {@link #ASK}. */
  private final Map<String, String> byServletPath;
  /** Extension mappings: the servlet path's ending (".do") and its route, in the same order. */
  private final String[] suffixes;
  private final String[] suffixRoutes;
  /** The default mapping's ({@code /}) route, or null. */
  private final String defaultRoute;

  private ServletRoutes(Object servlet, String single, Map<String, String> byServletPath, String[] suffixes,
      String[] suffixRoutes, String defaultRoute) {
    this.servlet = new WeakReference<>(servlet);
    this.springMvc = isSpringMvc(servlet.getClass());
    this.single = single;
    this.byServletPath = byServletPath;
    this.suffixes = suffixes;
    this.suffixRoutes = suffixRoutes;
    this.defaultRoute = defaultRoute;
  }

  /** The routes remembered for {@code servlet}, or null. */
  private static ServletRoutes recent(Object servlet) {
    Object o = CACHE.at(servlet);
    return o instanceof ServletRoutes r && r.servlet.get() == servlet ? r : null;
  }

  /** The routes of {@code servlet}: remembered, or read from its registration now. */
  public static ServletRoutes of(Object servlet) {
    ServletRoutes r = recent(servlet);
    return r != null ? r : learn(servlet);
  }

  /**
   * Reads the servlet's context path and its registration's mappings (javax or jakarta alike,
   * through reflection: once per servlet) and remembers them while the recorder is active. When
   * they cannot be read (no config: a servlet whose init did not keep it), every request is asked.
   */
  static ServletRoutes learn(Object servlet) {
    String context = "";
    Collection<String> mappings = null;
    try {
      Object config = invoke(servlet, "getServletConfig");
      Object name = invoke(config, "getServletName");
      Object sc = invoke(config, "getServletContext");
      Object path = invoke(sc, "getContextPath");
      Object registration = invoke(sc, "getServletRegistration", name);
      Object found = invoke(registration, "getMappings");
      if (path instanceof String p && found instanceof Collection<?> c) {
        context = p;
        List<String> list = new ArrayList<>();
        for (Object m : c) list.add(String.valueOf(m));
        mappings = list;
      }
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      Recorder.internalError(e); // the request is asked instead, as before
    }
    return remember(servlet, context, mappings);
  }

  /** A public method of {@code target} (found on a public, exported type), or null for null. */
  private static Object invoke(Object target, String name, Object... args) throws ReflectiveOperationException {
    if (target == null) return null;
    Class<?>[] types = new Class<?>[args.length];
    for (int i = 0; i < args.length; i++) types[i] = args[i] == null ? Object.class : args[i].getClass();
    java.util.ArrayDeque<Class<?>> todo = new java.util.ArrayDeque<>();
    todo.add(target.getClass());
    while (!todo.isEmpty()) {
      Class<?> c = todo.poll();
      if (java.lang.reflect.Modifier.isPublic(c.getModifiers()) && c.getModule().isExported(c.getPackageName())) {
        try {
          return c.getMethod(name, types).invoke(target, args);
        } catch (NoSuchMethodException | IllegalAccessException e) {
          // not here; keep looking
        }
      }
      if (c.getSuperclass() != null) todo.add(c.getSuperclass());
      todo.addAll(List.of(c.getInterfaces()));
    }
    throw new NoSuchMethodException(target.getClass().getName() + "." + name + " on no public, exported type");
  }

  /**
   * A request's route: the context path and the mapping's pattern, with the slash an extension
   * pattern lacks ("/app" and "*.do" give "/app/*.do", as the paths it matches read). The root
   * context with any other pattern is the pattern itself (no new String).
   */
  public static String label(String context, String pattern) {
    boolean extension = pattern.startsWith("*.");
    if (context == null || context.isEmpty()) return extension ? "/" + pattern : pattern;
    return extension ? context + "/" + pattern : context + pattern;
  }

  /** Remembers the routes of {@code servlet} from its context path and mappings (null: unknown). */
  static ServletRoutes remember(Object servlet, String contextPath, Collection<String> mappings) {
    ServletRoutes r = build(servlet, contextPath == null ? "" : contextPath, mappings);
    CACHE.put(servlet, r);
    return r;
  }

  private static ServletRoutes build(Object servlet, String context, Collection<String> mappings) {
    if (mappings == null || mappings.isEmpty()) return new ServletRoutes(servlet, null, Map.of(), new String[0],
        new String[0], null);
    if (mappings.size() == 1) {
      String only = mappings.iterator().next();
      return new ServletRoutes(servlet, label(context, only), Map.of(), new String[0], new String[0], null);
    }
    Map<String, String> byPath = new HashMap<>();
    List<String> suffixes = new ArrayList<>();
    List<String> suffixRoutes = new ArrayList<>();
    String dflt = null;
    for (String m : mappings) {
      String route = label(context, m);
      if (m.equals("/")) {
        dflt = route;
      } else if (m.startsWith("*.")) {
        suffixes.add(m.substring(1));
        suffixRoutes.add(route);
      } else {
        String servletPath = m.endsWith("/*") ? m.substring(0, m.length() - 2) : m; // "/*" and "" both give ""
        byPath.put(servletPath, byPath.containsKey(servletPath) ? ASK : route); // ASK: two mappings give it
      }
    }
    return new ServletRoutes(servlet, null, byPath, suffixes.toArray(new String[0]),
        suffixRoutes.toArray(new String[0]), dflt);
  }

  private static boolean isSpringMvc(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      if (c.getName().equals("org.springframework.web.servlet.FrameworkServlet")) return true;
    }
    return false;
  }

  /**
   * Whether the servlet is Spring MVC's: only its requests can carry Spring's best matching
   * pattern, so only theirs are asked for that attribute (on Tomcat, three map lookups).
   */
  public boolean springMvc() {
    return springMvc;
  }

  /** The route of every request, when the servlet has one mapping; else null. */
  public String single() {
    return single;
  }

  /** The route of a request with this servlet path, or null when the request must be asked. */
  public String route(String servletPath) {
    if (servletPath == null) return null;
    String exact = byServletPath.get(servletPath);
    if (exact != null) return exact == ASK ? null : exact;
    for (int i = 0; i < suffixes.length; i++) if (servletPath.endsWith(suffixes[i])) return suffixRoutes[i];
    return defaultRoute;
  }

  /** Forgets every servlet (the recorder went inactive). */
  static void clear() {
    CACHE.clear();
  }
}
