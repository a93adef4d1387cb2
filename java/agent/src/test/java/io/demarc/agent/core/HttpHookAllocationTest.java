package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.agent.advice.ServletAdvice;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The servlet hook on real Tomcat 11 requests: the routes and byte counts it records, and the
 * bytes it allocates per request on the request's thread after a warm-up (the JVM's count for
 * that thread, com.sun.management.ThreadMXBean). Each test servlet runs the hook's enter and exit
 * itself, with its own request and response, after writing its answer (as the inlined advice
 * runs them around the servlet's service), and adds what that allocated to its counter.
 */
class HttpHookAllocationTest {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private static final int WARM_UP = 6_000;
  private static final int MEASURED = 3_000;
  /**
   * A servlet with one mapping: its route is known without asking the request anything. Far
   * below one object per request (getHttpServletMapping() alone: 176 B on Tomcat 11).
   */
  private static final double SINGLE_MAPPING_BOUND = 8;
  /** Several mappings: at most the servlet path's String Tomcat makes (~40-50 B for "/users"). */
  private static final double MAPPINGS_BOUND = 64;

  private static Tomcat tomcat;
  private static java.nio.file.Path baseDir;
  private static HttpClient client;
  private static String base;

  /** What the hook allocated in the requests of one servlet while counting, and how many. */
  static final class Counter {
    final AtomicLong bytes = new AtomicLong();
    final AtomicLong requests = new AtomicLong();
    volatile boolean counting;

    double perRequest() {
      return bytes.get() / (double) Math.max(1, requests.get());
    }
  }

  /** Answers the request body back, with a Content-Length or chunked, then runs the hook. */
  static final class Answering extends HttpServlet {
    final Counter counter = new Counter();
    /** Requests whose hook has run (an answer with a Content-Length leaves before that). */
    final AtomicLong hooked = new AtomicLong();

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
      // Read before answering: the client may have its answer (its Content-Length reached) and the
      // test stop counting while this thread still runs the hook below.
      boolean counting = counter.counting;
      byte[] body = req.getInputStream().readAllBytes();
      if (!req.getRequestURI().contains("chunked")) res.setContentLength(body.length);
      res.getOutputStream().write(body);
      long before = THREADS.getCurrentThreadAllocatedBytes();
      long start = ServletAdvice.enter(req);
      ServletAdvice.exit(start, this, req, res, null);
      long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
      if (counting) {
        counter.bytes.addAndGet(allocated);
        counter.requests.incrementAndGet();
      }
      hooked.incrementAndGet();
    }
  }

  /**
   * Writes the request's text back through the writer, {@code times} over, in the charset its path
   * names ("/text/GBK"), then runs the hook: a text body, counted by Tomcat in characters.
   */
  static final class Writing extends HttpServlet {
    @Override
    protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
      String text = new String(req.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      res.setContentType("text/plain");
      res.setCharacterEncoding(req.getPathInfo().substring(1));
      int times = Integer.parseInt(req.getParameter("times"));
      java.io.PrintWriter w = res.getWriter();
      for (int i = 0; i < times; i++) w.write(text);
      // "wrapped": the servlet gets the response through a filter's wrapper, as behind Spring Security.
      HttpServletResponse seen = req.getParameter("wrapped") != null ? new HttpServletResponseWrapper(res) : res;
      long start = ServletAdvice.enter(req);
      ServletAdvice.exit(start, this, req, seen, null);
    }
  }

  private static final Answering SEVERAL = new Answering();
  private static final Answering ONE = new Answering();
  private static final Answering TWICE = new Answering();

  @BeforeAll
  static void startTomcat() throws Exception {
    tomcat = new Tomcat();
    baseDir = Files.createTempDirectory("tomcat");
    tomcat.setBaseDir(baseDir.toString());
    tomcat.setPort(0);
    tomcat.getConnector().setProperty("address", "127.0.0.1");
    Context ctx = tomcat.addContext("/app", null);
    Tomcat.addServlet(ctx, "several", SEVERAL);
    ctx.addServletMappingDecoded("/echo", "several");
    ctx.addServletMappingDecoded("/users/*", "several");
    ctx.addServletMappingDecoded("*.do", "several");
    Tomcat.addServlet(ctx, "one", ONE);
    ctx.addServletMappingDecoded("/one/*", "one");
    // The same servlet under /t and /t/*: the servlet path "/t" does not tell them apart.
    Tomcat.addServlet(ctx, "twice", TWICE);
    ctx.addServletMappingDecoded("/t", "twice");
    ctx.addServletMappingDecoded("/t/*", "twice");
    Tomcat.addServlet(ctx, "text", new Writing());
    ctx.addServletMappingDecoded("/text/*", "text");
    tomcat.start();
    base = "http://127.0.0.1:" + tomcat.getConnector().getLocalPort() + "/app";
    client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  @AfterAll
  static void stopTomcat() throws Exception {
    tomcat.stop();
    tomcat.destroy();
    try (var walk = Files.walk(baseDir)) {
      for (var p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }

  @AfterEach
  void off() {
    Recorder.activate(false);
    Recorder.reset();
  }

  private static int post(String path, String body) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(base + path)).POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
    return client.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
  }

  /** Requests the three Answering servlets have run the hook for. */
  private static long hooked() {
    return SEVERAL.hooked.get() + ONE.hooked.get() + TWICE.hooked.get();
  }

  /**
   * Waits (up to 5 s) until the hook has run for {@code n} requests: Tomcat 11 sends an answer as
   * soon as its Content-Length is written, so the client may have it before the hook ran.
   */
  private static void awaitHooked(long n) throws InterruptedException {
    for (int i = 0; i < 500 && hooked() < n; i++) Thread.sleep(10);
  }

  /** Rows by method label: {requests, bytesSent}. */
  private static Map<String, long[]> rows() {
    Map<String, long[]> byMethod = new HashMap<>();
    for (Map<String, Object> r : AggregatorTest.rows(Recorder.flush(true))) {
      assertEquals("servlet", r.get("library"));
      byMethod.put((String) r.get("method"), new long[] {(Long) r.get("requests"), (Long) r.get("bytesSent")});
    }
    return byMethod;
  }

  @Test
  void routesAreTheMappingPatternsAndBytesCountChunkedBodiesToo() throws Exception {
    Recorder.activate(true);
    String[][] calls = {
        {"/echo", "hello"}, {"/users/7", "hi"}, {"/users/chunked/8", "chunky"}, {"/a/b.do", "xyz"},
        {"/one/x/y", "1234"}, {"/t", "tt"}, {"/t/u", "ttt"}};
    long before = hooked();
    for (int i = 0; i < 3; i++) for (String[] c : calls) assertEquals(200, post(c[0], c[1]), c[0]);
    awaitHooked(before + 3L * calls.length);
    Map<String, long[]> rows = rows();
    assertEquals(List.of(3L, 15L), List.of(rows.get("POST /app/echo")[0], rows.get("POST /app/echo")[1]));
    long[] users = rows.get("POST /app/users/*");
    assertEquals(6, users[0], "/users/7 and /users/chunked/8 under one route");
    assertEquals(3 * (2 + 6), users[1], "a chunked body's bytes counted as well");
    // context path + the extension pattern, with the slash its paths have
    assertEquals(9, rows.get("POST /app/*.do")[1]);
    assertEquals(12, rows.get("POST /app/one/*")[1]);
    assertEquals(6, rows.get("POST /app/t")[1], "the exact mapping, asked of the request");
    assertEquals(9, rows.get("POST /app/t/*")[1], "the path mapping, asked of the request");
    assertEquals(6, rows.size(), rows.keySet().toString());
  }

  /**
   * A body written through the writer counts its bytes as the charset encodes them, not its
   * characters (Tomcat's own count): the bytes the client received, whether the body still sat in
   * Tomcat's buffers when the servlet returned (short) or had partly gone to the connector (long).
   */
  @Test
  void aTextBodyCountsItsEncodedBytes() throws Exception {
    Recorder.activate(true);
    long internalErrors = Recorder.internalErrors();
    String[][] cases = {
        {"UTF-8", "h\u00e9llo w\u00f6rld \u4f60\u597d \ud83d\ude00 ", "1"},
        {"UTF-8", "h\u00e9llo w\u00f6rld \u4f60\u597d \ud83d\ude00 ", "3000"},
        {"UTF-8", "plain ascii ", "1"},
        {"GBK", "\u4f60\u597d, world ", "1"},
        {"GBK", "\u4f60\u597d, world ", "3000"},
        {"ISO-8859-1", "caf\u00e9 ", "1000"},
        {"UTF-8", "h\u00e9llo w\u00f6rld \u4f60\u597d \ud83d\ude00 ", "3000&wrapped"}};
    for (String[] c : cases) {
      HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/text/" + c[0] + "?times=" + c[2]))
          .POST(HttpRequest.BodyPublishers.ofString(c[1], StandardCharsets.UTF_8)).build();
      HttpResponse<byte[]> res = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
      assertEquals(200, res.statusCode());
      long expected = (long) c[1].getBytes(java.nio.charset.Charset.forName(c[0])).length
          * Integer.parseInt(c[2].split("&")[0]);
      assertEquals(expected, res.body().length, "what the client received");
      long[] row = rows().get("POST /app/text/*");
      assertEquals(List.of(1L, expected), List.of(row[0], row[1]), c[0] + " x " + c[2]);
    }
    assertEquals(internalErrors, Recorder.internalErrors(), "no failure inside the agent");
  }

  @Test
  void theHookAllocatesAlmostNothingPerRequestAfterWarmUp() throws Exception {
    Recorder.activate(true);
    long hookedBefore = hooked();
    for (int i = 0; i < WARM_UP; i++) {
      post("/users/" + (i & 7), "hello");
      post("/one/" + (i & 7), "hello");
    }
    Recorder.drainPending(); // as the sender would have: room for every measured call
    SEVERAL.counter.counting = true;
    ONE.counter.counting = true;
    for (int i = 0; i < MEASURED; i++) {
      post("/users/" + (i & 7), "hello");
      post("/one/" + (i & 7), "hello");
    }
    SEVERAL.counter.counting = false;
    ONE.counter.counting = false;
    awaitHooked(hookedBefore + 2L * (WARM_UP + MEASURED)); // the last requests' threads may still be adding theirs
    double one = ONE.counter.perRequest();
    double several = SEVERAL.counter.perRequest();
    System.out.printf("servlet hook allocates per request on Tomcat: one mapping %.1f B, several %.1f B%n", one,
        several);
    assertEquals(MEASURED, ONE.counter.requests.get());
    assertTrue(one < SINGLE_MAPPING_BOUND, "a servlet with one mapping: " + one + " B per request");
    assertTrue(several < MAPPINGS_BOUND, "a servlet with several mappings: " + several + " B per request");
    Map<String, long[]> rows = rows();
    assertEquals(WARM_UP + MEASURED, rows.get("POST /app/users/*")[0]);
    assertEquals(WARM_UP + MEASURED, rows.get("POST /app/one/*")[0]);
  }
}
