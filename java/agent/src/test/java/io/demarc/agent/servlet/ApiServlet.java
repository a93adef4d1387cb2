package io.demarc.agent.servlet;

import java.io.IOException;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

/**
 * A javax.servlet servlet: /status/N answers N, /wait/MS answers after MS milliseconds, /boom
 * throws (the container answers 500), anything else answers "hello".
 */
public final class ApiServlet extends HttpServlet {
  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    String p = req.getPathInfo() == null ? "" : req.getPathInfo();
    if (p.startsWith("/boom")) throw new IllegalStateException("asked to fail");
    if (p.startsWith("/wait/")) {
      try {
        Thread.sleep(Long.parseLong(p.substring(6)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    resp.setStatus(p.startsWith("/status/") ? Integer.parseInt(p.substring(8)) : 200);
    resp.getWriter().write("hello");
  }
}
