package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.demarc.agent.advice.ServletAdvice;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.ee11.servlet.ServletContextHandler;
import org.eclipse.jetty.ee11.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The servlet hook's bytes sent on real Jetty 12 (ee11) requests, against what the client received:
 * a body of unknown length (chunked), through the stream or as text through the writer, where
 * no Content-Length header tells it. The servlet runs the hook's enter and exit itself after
 * writing, as the inlined advice runs them around its service; given a filter's wrapper of the
 * response, the hook counts on the response under it.
 */
class JettyBodyBytesTest {
  private static Server jetty;
  private static HttpClient client;
  private static String base;

  /** Writes the request's body back `times` over: "/text/CHARSET" through the writer, "/bytes" through the stream. */
  static final class Writing extends HttpServlet {
    @Override
    protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
      byte[] body = req.getInputStream().readAllBytes();
      int times = Integer.parseInt(req.getParameter("times"));
      if (req.getPathInfo().startsWith("/text/")) {
        res.setContentType("text/plain");
        res.setCharacterEncoding(req.getPathInfo().substring("/text/".length()));
        String text = new String(body, StandardCharsets.UTF_8);
        java.io.PrintWriter w = res.getWriter();
        for (int i = 0; i < times; i++) w.write(text);
      } else {
        for (int i = 0; i < times; i++) res.getOutputStream().write(body);
      }
      // "wrapped": the servlet gets the response through a filter's wrapper, as behind Spring Security.
      HttpServletResponse seen = req.getParameter("wrapped") != null ? new HttpServletResponseWrapper(res) : res;
      long start = ServletAdvice.enter(req);
      ServletAdvice.exit(start, this, req, seen, null);
    }
  }

  @BeforeAll
  static void startJetty() throws Exception {
    jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    jetty.addConnector(connector);
    ServletContextHandler ctx = new ServletContextHandler();
    ctx.setContextPath("/app");
    ctx.addServlet(new ServletHolder(new Writing()), "/w/*");
    jetty.setHandler(ctx);
    jetty.start();
    base = "http://127.0.0.1:" + connector.getLocalPort() + "/app/w";
    client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  @AfterAll
  static void stopJetty() throws Exception {
    jetty.stop();
  }

  @AfterEach
  void off() {
    Recorder.activate(false);
    Recorder.reset();
  }

  /** The one row's {requests, bytesSent} since the last flush. */
  private static List<Long> row() {
    List<Map<String, Object>> rows = AggregatorTest.rows(Recorder.flush(true));
    assertEquals(1, rows.size(), rows.toString());
    return List.of((Long) rows.get(0).get("requests"), (Long) rows.get(0).get("bytesSent"));
  }

  @Test
  void aBodyOfUnknownLengthCountsTheBytesTheClientReceived() throws Exception {
    Recorder.activate(true);
    String text = "h\u00e9llo w\u00f6rld \u4f60\u597d \ud83d\ude00 ";
    String[][] cases = {
        {"/text/UTF-8", "1"}, {"/text/UTF-8", "3000"}, {"/text/GBK", "1"}, {"/text/GBK", "3000"},
        {"/text/ISO-8859-1", "1"}, {"/bytes", "1"}, {"/bytes", "3000"}, {"/text/UTF-8", "3000&wrapped"}};
    // The same connection for every request (HTTP/1.1 keep-alive): each request's own count.
    for (String[] c : cases) {
      String sent = c[0].endsWith("ISO-8859-1") ? "caf\u00e9 " : text;
      HttpRequest req = HttpRequest.newBuilder(URI.create(base + c[0] + "?times=" + c[1]))
          .POST(HttpRequest.BodyPublishers.ofString(sent, StandardCharsets.UTF_8)).build();
      HttpResponse<byte[]> res = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, res.statusCode());
      Charset cs = c[0].startsWith("/text/") ? Charset.forName(c[0].substring(6)) : StandardCharsets.UTF_8;
      long expected = (long) sent.getBytes(cs).length * Integer.parseInt(c[1].split("&")[0]);
      assertEquals(expected, res.body().length, "what the client received for " + c[0]);
      assertEquals(List.of(1L, expected), row(), c[0] + " x " + c[1]);
    }
  }
}
