package io.demarc.agent.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Bytes the application thread allocates per measured call, counted by the JVM for this thread
 * (com.sun.management.ThreadMXBean), after a warm-up. The hot paths of a known row allocate
 * nothing of their own, whichever compiler runs them (an ended call is queued in place), and
 * adding the queued calls to their rows (the sender thread's drain, timed apart here) allocates
 * nothing per call either. So the bound is a few bytes per call: far below one object per call
 * (a row key alone was 56 bytes), and immune to timing noise.
 */
class AllocationTest {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
  private static final int CALLS = 200_000;
  /** Calls between two drains of the queue, as the sender thread would drain it. */
  private static final int DRAIN_EVERY = 1_000;
  /** Per call, averaged over CALLS: what measuring itself allocates once is spread thin. */
  private static final double BOUND_BYTES = 4;

  private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 8080);
  private static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.1", 40000);

  @AfterEach
  void off() {
    Recorder.activate(false);
    Recorder.reset();
    InFlight.clear();
    BodyWait.clear();
  }

  /**
   * Bytes per call the calls allocate, and the drains of the queue between them ({@link #DRAIN_EVERY}
   * calls apart; none when {@code drain} is false: then the queue fills and calls add themselves).
   */
  private static double[] bytesPerCall(Runnable call, boolean drain) {
    for (int i = 0; i < CALLS; i++) { // warm up (interpreter, then compiled)
      call.run();
      if (drain && i % DRAIN_EVERY == 0) Recorder.drainPending();
    }
    long drained = 0;
    long before = THREADS.getCurrentThreadAllocatedBytes();
    for (int i = 1; i <= CALLS; i++) {
      call.run();
      if (drain && i % DRAIN_EVERY == 0) {
        long d = THREADS.getCurrentThreadAllocatedBytes();
        Recorder.drainPending();
        drained += THREADS.getCurrentThreadAllocatedBytes() - d;
      }
    }
    long all = THREADS.getCurrentThreadAllocatedBytes() - before;
    return new double[] {(all - drained) / (double) CALLS, drained / (double) CALLS};
  }

  /** Bytes per call of the calls alone, asserting that the drains between them allocated nothing per call. */
  private static double bytesPerCall(Runnable call) {
    double[] b = bytesPerCall(call, true);
    assertTrue(b[1] < BOUND_BYTES, "adding queued calls to their rows allocates " + b[1] + " B per call");
    return b[0];
  }

  private static void assertNothing(double bytes, String what) {
    assertTrue(bytes < BOUND_BYTES, what + " allocates " + bytes + " B");
  }

  /** An HTTP server call as JdkHttpServerAdvice records it (verb, route, known body sizes). */
  private static void httpServerCall() {
    long start = Recorder.start();
    Recorder.record("http", "server", false, Recorder.ip(LOCAL), Recorder.port(LOCAL), Recorder.ip(REMOTE),
        Recorder.port(REMOTE), "", Recorder.httpMethod("POST", "/echo"), 200, StatusClass.OK, true, start,
        Recorder.parseLength("5"), 5, "jdk-httpserver", null);
  }

  /** A gRPC call as the start and close advice record it (start kept by the call object). */
  private static void grpcCall(Object call) {
    InFlight.begin(call);
    long start = InFlight.end(call);
    MethodLabels.Grpc name = Recorder.grpcMethod("demo.Echo/Say");
    Recorder.record("grpc", "server", false, Recorder.ip(LOCAL), Recorder.port(LOCAL), Recorder.ip(REMOTE),
        Recorder.port(REMOTE), name.service(), name.method(), 0, StatusClass.grpc(0), true, start, -1, -1,
        "grpc-java", null);
  }

  @Test
  void aCallOfAKnownRowAllocatesNothingOnTheCallersThread() {
    Recorder.activate(true);
    double http = bytesPerCall(AllocationTest::httpServerCall);
    Object[] calls = new Object[64]; // a few calls in flight at a time, as on a server
    for (int i = 0; i < calls.length; i++) calls[i] = new Object();
    int[] n = {0};
    double grpc = bytesPerCall(() -> grpcCall(calls[n[0]++ & 63]));
    System.out.printf("allocated per measured call: http server %.1f B, grpc (start + end + record) %.1f B%n", http,
        grpc);
    assertNothing(http, "http server call");
    assertNothing(grpc, "grpc call");
    // And the calls were counted: one row each, every call in it.
    List<Map<String, Object>> rows = AggregatorTest.rows(Recorder.flush(true));
    assertEquals(2, rows.size());
    for (Map<String, Object> r : rows) assertEquals(2L * CALLS, r.get("requests"));
  }

  /** What Dubbo's AppResponse answers the completion (reflectively, as the agent's core cannot name it). */
  public static final class Answer {
    public boolean hasException() {
      return false;
    }

    /** The response's size, as Dubbo's count codec notes it (read reflectively, as on the consumer's AppResponse). */
    public String getAttachment(String key) {
      return DubboCompletion.RESPONSE_BYTES.equals(key) ? "123" : null;
    }
  }

  private static final CompletableFuture<Object> ANSWERED = CompletableFuture.completedFuture(new Answer());

  /** A Dubbo 3 sync call as the consumer advice records it now: its future is done at exit. */
  private static void dubboSyncCall() {
    long start = Recorder.start();
    DubboCompletion.recordIfDone(ANSWERED, "client", Recorder.ip(LOCAL), Recorder.port(LOCAL), Recorder.ip(REMOTE),
        Recorder.port(REMOTE), "demo.Echo", "say", start, "dubbo-dubbo", -1);
  }

  /** The same call as the consumer advice recorded it before: a callback object chained into the future. */
  private static void dubboCallbackCall() {
    long start = Recorder.start();
    ANSWERED.whenComplete(new DubboCompletion("client", Recorder.ip(LOCAL), Recorder.port(LOCAL),
        Recorder.ip(REMOTE), Recorder.port(REMOTE), "demo.Echo", "say", start, "dubbo-dubbo", -1));
  }

  /** A blocking JDK HttpClient send as JdkHttpClientSendAdvice records it when send returns. */
  private static void jdkSendCall() {
    long start = Recorder.start();
    Recorder.record("http", "client", false, "", 0, "127.0.0.1", 8080, "127.0.0.1",
        Recorder.httpMethod("POST", "/echo"), 200, StatusClass.http(200), true, start, -1, -1, "jdk-httpclient",
        null);
  }

  /** The same send as recorded before, through the completion chained into sendAsync's future. */
  private static void jdkSendCallbackCall(CompletableFuture<Object> response) {
    long start = Recorder.start();
    response.whenComplete(new HttpCompletion(false, "127.0.0.1", 8080, "127.0.0.1",
        Recorder.httpMethod("POST", "/echo"), start, "jdk-httpclient"));
  }

  /** An HTTP client call whose body is read after its head, as OkHttp's advice records it. */
  private static void bodyWaitCall(Object call) {
    long start = Recorder.start();
    BodyWait.await(call, false, "127.0.0.1", 8080, "127.0.0.1", Recorder.httpMethod("POST", "/echo"), 200, start,
        5, 5, "okhttp");
    BodyWait.end(call);
  }

  @Test
  void anHttpClientCallWaitingForItsBodyAllocatesNothing() {
    Recorder.activate(true);
    Object[] calls = new Object[8];
    for (int i = 0; i < calls.length; i++) calls[i] = new Object();
    int[] n = {0};
    double bytes = bytesPerCall(() -> bodyWaitCall(calls[n[0]++ & 7]));
    System.out.printf("allocated per HTTP client call waiting for its body: %.1f B%n", bytes);
    assertNothing(bytes, "http client call waiting for its body");
    assertEquals(0, BodyWait.size());
    List<Map<String, Object>> rows = AggregatorTest.rows(Recorder.flush(true));
    assertEquals(1, rows.size());
    assertEquals(2L * CALLS, rows.get(0).get("requests"));
  }

  /** A thread whose calls alternate between two rows: each misses the remembered row and looks its own up. */
  @Test
  void callsAlternatingBetweenRowsAllocateNothingEither() {
    Recorder.activate(true);
    int[] n = {0};
    double alternating = bytesPerCall(() -> {
      long start = Recorder.start();
      Recorder.record("http", "server", false, Recorder.ip(LOCAL), Recorder.port(LOCAL), Recorder.ip(REMOTE),
          Recorder.port(REMOTE), "", Recorder.httpMethod("GET", (n[0]++ & 1) == 0 ? "/a" : "/b"), 200,
          StatusClass.OK, true, start, 1, 1, "jdk-httpserver", null);
    });
    System.out.printf("allocated per call alternating between two rows: %.1f B%n", alternating);
    assertNothing(alternating, "alternating calls");
    List<Map<String, Object>> rows = AggregatorTest.rows(Recorder.flush(true));
    assertEquals(2, rows.size());
    for (Map<String, Object> r : rows) assertEquals((long) CALLS, r.get("requests"));
  }

  @Test
  void syncDubboCallsAndBlockingJdkSendsAllocateNoCompletion() {
    Recorder.activate(true);
    double dubboOld = bytesPerCall(AllocationTest::dubboCallbackCall);
    double dubboNew = bytesPerCall(AllocationTest::dubboSyncCall);
    CompletableFuture<Object> response = CompletableFuture.completedFuture(null);
    double jdkOld = bytesPerCall(() -> jdkSendCallbackCall(response));
    double jdkNew = bytesPerCall(AllocationTest::jdkSendCall);
    System.out.printf("allocated per call, callback chained (before) vs recorded at once (now): dubbo sync %.1f -> "
        + "%.1f B, jdk HttpClient send %.1f -> %.1f B%n", dubboOld, dubboNew, jdkOld, jdkNew);
    assertNothing(dubboNew, "dubbo sync call");
    assertNothing(jdkNew, "jdk send");
    List<Map<String, Object>> rows = AggregatorTest.rows(Recorder.flush(true));
    long dubbo = 0;
    long received = 0;
    for (Map<String, Object> r : rows) {
      if (!"dubbo".equals(r.get("protocol"))) continue;
      dubbo += (Long) r.get("requests");
      received += (Long) r.get("bytesReceived");
    }
    assertEquals(4L * CALLS, dubbo, "every dubbo call recorded, either way");
    assertEquals(123L * 4 * CALLS, received, "each with the response size its result carries");
  }

  /** With nobody draining, the queue fills; then calls add themselves to their rows, allocating nothing either. */
  @Test
  void callsFindingTheQueueFullAllocateNothingAndAreAllCounted() {
    Recorder.activate(true);
    double[] full = bytesPerCall(AllocationTest::httpServerCall, false);
    System.out.printf("allocated per call with the queue full: %.1f B%n", full[0]);
    assertTrue(Recorder.pendingCalls() > 0, "calls were queued until it was full");
    assertTrue(full[0] < BOUND_BYTES, "a call finding the queue full allocates " + full[0] + " B");
    List<Map<String, Object>> rows = AggregatorTest.rows(Recorder.flush(true));
    assertEquals(1, rows.size());
    assertEquals(2L * CALLS, rows.get(0).get("requests"), "queued or added directly, every call is counted once");
    assertEquals(0, Recorder.pendingCalls());
  }

  /**
   * Every call sampled for a span: the call's thread still allocates nothing (the span's fields go
   * with the queued call), the sender's drain makes the span's objects.
   */
  @Test
  void aSampledCallAllocatesNothingOnItsThreadTheDrainMakesItsSpan() {
    Recorder.configure(Config.parse("{\"trace\":true,\"traceSampleRatio\":1.0}"));
    Recorder.activate(true);
    for (int i = 0; i < CALLS; i++) { // warm up
      httpServerCall();
      if (i % DRAIN_EVERY == 0) Recorder.drainSpans();
    }
    Recorder.drainSpans();
    long calls = 0;
    long drains = 0;
    int spans = 0;
    for (int i = 1; i <= CALLS; i++) {
      long t = THREADS.getCurrentThreadAllocatedBytes();
      httpServerCall();
      calls += THREADS.getCurrentThreadAllocatedBytes() - t;
      if (i % DRAIN_EVERY == 0) {
        t = THREADS.getCurrentThreadAllocatedBytes();
        Recorder.drainPending(); // the sender's part: spans made from the queued calls
        drains += THREADS.getCurrentThreadAllocatedBytes() - t;
        String json = Recorder.spans().drain(); // the reporter's (outside the count)
        spans += json == null ? 0 : json.split("\"spanId\"", -1).length - 1;
      }
    }
    double perCall = calls / (double) CALLS;
    double perDrainedCall = drains / (double) CALLS;
    System.out.printf("allocated per sampled call: on its thread %.1f B, by the drain %.1f B%n", perCall,
        perDrainedCall);
    // The measuring itself (two reads of the thread's count around each call) allocates nothing.
    assertNothing(perCall, "a sampled call on its thread");
    assertTrue(perDrainedCall > 32, "the drain makes each span's objects: " + perDrainedCall + " B a call");
    assertEquals(CALLS, spans, "every call sampled, every span made and reported");
  }
}
