package io.demarc.agent.advice;

import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import javax.servlet.DispatcherType;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;
import javax.servlet.http.HttpServletMapping;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import net.bytebuddy.asm.Advice;

/**
 * javax.servlet containers (Tomcat 9, Jetty 9.4-11 javax, Spring Boot 2), on
 * {@code javax.servlet.http.HttpServlet.service(ServletRequest, ServletResponse)}: the same
 * measurement as {@link ServletAdvice} for the pre-Jakarta package. The two never meet in one
 * class: each hook matches its own package's HttpServlet. Servlet 3.1 containers have no
 * {@code getHttpServletMapping}: there the route falls back to context path + servlet path.
 */
public final class JavaxServletAdvice {
  private JavaxServletAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter(@Advice.Argument(0) ServletRequest req) {
    if (req.getDispatcherType() != DispatcherType.REQUEST) return 0;
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.Argument(0) ServletRequest req,
      @Advice.Argument(1) ServletResponse res, @Advice.Thrown Throwable thrown) {
    if (start == 0 || !(req instanceof HttpServletRequest) || !(res instanceof HttpServletResponse)) return;
    HttpServletRequest hreq = (HttpServletRequest) req;
    Object pattern = hreq.getAttribute("org.springframework.web.servlet.HandlerMapping.bestMatchingPattern");
    String route;
    if (pattern != null) {
      route = pattern.toString();
    } else {
      String mapped;
      try {
        HttpServletMapping mapping = hreq.getHttpServletMapping();
        mapped = mapping == null ? "" : mapping.getPattern();
      } catch (LinkageError servlet31) {
        mapped = hreq.getServletPath();
      }
      String context = hreq.getContextPath();
      route = context == null || context.isEmpty() ? mapped : context + mapped; // no new String per call at the root context
    }
    // An exception escaping the servlet becomes a 500 from the container.
    int status = thrown != null ? 500 : ((HttpServletResponse) res).getStatus();
    Recorder.record("http", "server", hreq.isSecure(), hreq.getLocalAddr(), hreq.getLocalPort(),
        hreq.getRemoteAddr(), hreq.getRemotePort(), "", Recorder.httpMethod(hreq.getMethod(), route), status,
        StatusClass.http(status), true, start,
        Recorder.parseLength(((HttpServletResponse) res).getHeader("Content-Length")), hreq.getContentLengthLong(),
        "servlet-javax", thrown);
  }
}
