package io.demarc.agent.advice;

import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.ServletRoutes;
import io.demarc.agent.core.StatusClass;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.ServletResponseWrapper;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletMapping;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import net.bytebuddy.asm.Advice;

/**
 * Jakarta Servlet 5+ containers (Tomcat 10/11, Jetty 12 ee10, Spring Boot 3), on
 * {@code HttpServlet.service(ServletRequest, ServletResponse)}. Only REQUEST dispatches count, so
 * forwards and includes are not counted twice. The route is Spring MVC's best matching pattern
 * when present, else the servlet mapping's pattern: templates, not raw paths. The patterns come
 * from the servlet's registration, read once per servlet ({@link ServletRoutes}); the request's
 * own mapping, which Tomcat builds per request, is asked only when they do not explain its path.
 */
public final class ServletAdvice {
  private ServletAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter(@Advice.Argument(0) ServletRequest req) {
    if (req.getDispatcherType() != DispatcherType.REQUEST) return 0;
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This HttpServlet servlet,
      @Advice.Argument(0) ServletRequest req, @Advice.Argument(1) ServletResponse res,
      @Advice.Thrown Throwable thrown) {
    if (start == 0 || !(req instanceof HttpServletRequest) || !(res instanceof HttpServletResponse)) return;
    HttpServletRequest hreq = (HttpServletRequest) req;
    ServletRoutes routes = ServletRoutes.of(servlet);
    String route = null;
    if (routes.springMvc()) {
      Object pattern = hreq.getAttribute("org.springframework.web.servlet.HandlerMapping.bestMatchingPattern");
      if (pattern != null) route = pattern.toString();
    }
    // Else the servlet's mapping pattern, known per servlet (no mapping object per request).
    if (route == null) route = routes.single();
    if (route == null) route = routes.route(hreq.getServletPath());
    if (route == null) { // a servlet path its mappings do not explain: ask the request
      HttpServletMapping mapping = hreq.getHttpServletMapping();
      String context = hreq.getContextPath();
      String mapped = mapping == null ? "" : mapping.getPattern();
      route = ServletRoutes.label(context, mapped);
    }
    // An exception escaping the servlet becomes a 500 from the container.
    HttpServletResponse hres = (HttpServletResponse) res;
    int status = thrown != null ? 500 : hres.getStatus();
    // Bytes the container counted as written (chunked bodies too), else the Content-Length header.
    // The count is on the response the container made, under any filter's wrappers (Spring
    // Security's, for one); a wrapper that holds the body back (a caching one) has passed none yet.
    ServletResponse made = res;
    for (int depth = 0; depth < 16 && made instanceof ServletResponseWrapper; depth++) {
      made = ((ServletResponseWrapper) made).getResponse();
    }
    long sent = Recorder.servletBytesWritten(made);
    if (sent < 0) sent = Recorder.parseLength(hres.getHeader("Content-Length"));
    Recorder.record("http", "server", hreq.isSecure(), hreq.getLocalAddr(), hreq.getLocalPort(),
        hreq.getRemoteAddr(), hreq.getRemotePort(), "", Recorder.httpMethod(hreq.getMethod(), route), status,
        StatusClass.http(status), true, start, sent, hreq.getContentLengthLong(),
        "servlet", thrown);
  }
}
