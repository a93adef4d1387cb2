package io.demarc.agent.servlet;

import java.io.IOException;
import java.util.concurrent.atomic.LongAdder;
import javax.servlet.Filter;
import javax.servlet.FilterChain;
import javax.servlet.ServletException;
import javax.servlet.ServletRequest;
import javax.servlet.ServletResponse;

/**
 * The server's own measurement of its requests, the ground truth for the agent's server rows:
 * a filter in front of the servlet (Spring's DispatcherServlet included) timing the chain. The
 * client's own times also hold its HTTP stack and the loopback hop, several ms on a busy box.
 */
public final class ServerClock implements Filter {
  static final LongAdder CALLS = new LongAdder();
  static final LongAdder NANOS = new LongAdder();

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    long t0 = System.nanoTime();
    try {
      chain.doFilter(req, res);
    } finally {
      NANOS.add(System.nanoTime() - t0);
      CALLS.increment();
    }
  }

  /** "server calls meanNs" since the last call, then starts over. */
  public static String takeReport() {
    long n = CALLS.sumThenReset();
    long ns = NANOS.sumThenReset();
    return "server " + n + " " + (n == 0 ? 0 : ns / n);
  }
}
