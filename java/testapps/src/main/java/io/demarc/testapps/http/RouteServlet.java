package io.demarc.testapps.http;

import io.demarc.testapps.core.Faults;
import io.demarc.testapps.core.ServerApp;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;

/** One servlet for all routes; Tomcat and Jetty map it under {@link #MAPPINGS}. */
public final class RouteServlet extends HttpServlet {
  /** Servlet mappings, so a servlet-level route (e.g. {@code /users/*}) is visible to the agent. */
  public static final String[] MAPPINGS = {"/echo", "/users/*", "/status/*"};

  private final transient Faults faults;

  public RouteServlet(Faults faults) {
    this.faults = faults;
  }

  @Override
  protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    byte[] body = req.getInputStream().readAllBytes();
    HttpRoutes.Reply r = HttpRoutes.handle(faults, req.getRequestURI(), body);
    resp.setStatus(r.status());
    resp.setContentType(r.contentType());
    resp.setContentLength(r.body().length);
    resp.setHeader(ServerApp.PEER_PORT, Integer.toString(req.getRemotePort()));
    resp.getOutputStream().write(r.body());
    faults.sent(r.body().length);
  }
}
