package io.demarc.agent.advice;

import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.ServletRoutes;
import io.demarc.agent.core.StatusClass;
import javax.servlet.DispatcherType;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;
import javax.servlet.ServletResponseWrapper;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletMapping;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import net.bytebuddy.asm.Advice;

/**
 * javax.servlet containers (Tomcat 9, Jetty 9.4-11 javax, Spring Boot 2), on
 * {@code javax.servlet.http.HttpServlet.service(ServletRequest, ServletResponse)}: the same
 * measurement as {@link ServletAdvice} for the pre-Jakarta package. The two never meet in one
 * class: each hook matches its own package's HttpServlet. Servlet 3.1 containers have no
 * {@code getHttpServletMapping}: there a request whose servlet path the servlet's mappings do not
 * explain falls back to context path + servlet path.
 */
public final class JavaxServletAdvice {
  private JavaxServletAdvice() {}

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
      String mapped;
      try {
        HttpServletMapping mapping = hreq.getHttpServletMapping();
        mapped = mapping == null ? "" : mapping.getPattern();
      } catch (LinkageError servlet31) {
        mapped = hreq.getServletPath();
      }
      String context = hreq.getContextPath();
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
        "servlet-javax", thrown);
  }
}
