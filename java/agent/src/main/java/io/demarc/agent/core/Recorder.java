package io.demarc.agent.core;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * What advice calls. It lives in the bootstrap class path (see AgentMain) so advice inlined into
 * any class, JDK ones included, can reach it. Every entry point is cheap, never does I/O and
 * never lets an exception out except the deliberate one of the failure-isolation test switch.
 */
public final class Recorder {
  private static volatile boolean active;
  private static volatile Config config = Config.DEFAULT;
  private static volatile Aggregator aggregator = new Aggregator(Config.DEFAULT.latencyBoundsNs(),
      Config.DEFAULT.cardinalityCap());
  private static final Spans SPANS = new Spans(4096);
  /** Ended calls on their way to their rows, added by the sender thread ({@link #drainPending}). */
  private static final CallQueue PENDING = new CallQueue(16_384);
  /**
   * Every this many queued calls, the call that fills the batch's last slot unparks the sender to
   * add them to their rows: a busy JVM's calls are added in batches (rows warm, one wake-up per
   * batch: a futex call, ~1 ns per call spread over the batch), an idle one's at its report.
   * Far below the queue's size, so callers fall back to adding their own only when the sender
   * does not run for 7 batches.
   */
  static final int DRAIN_BATCH = 2_048;
  /** The thread that adds queued calls to their rows (the reporter's sender), or null. */
  private static volatile Thread drainer;
  private static final AtomicLong INTERNAL_ERRORS = new AtomicLong();
  /** Debug switch (agent argument {@code debug=throw}): every record throws after counting. */
  private static volatile boolean throwForTest;

  private static final String CLIENT = "client";
  private static final String SERVER = "server";

  private Recorder() {}

  /** Start of a measured call: 0 when not active (advice then records nothing). */
  public static long start() {
    if (!active) return 0;
    if (throwForTest) failForTest();
    return System.nanoTime();
  }

  public static void record(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp,
      int peerPort, String service, String method, int status, String statusClass, boolean responded, long startNs,
      long bytesSent, long bytesReceived, String library, Throwable error) {
    recordUntil(protocol, role, ssl, localIp, localPort, peerIp, peerPort, service, method, status, statusClass,
        responded, startNs, 0, bytesSent, bytesReceived, library, error);
  }

  /** As {@link #record}, for a call that ended at {@code endNs} (0 = now). */
  public static void recordUntil(String protocol, String role, boolean ssl, String localIp, int localPort,
      String peerIp, int peerPort, String service, String method, int status, String statusClass, boolean responded,
      long startNs, long endNs, long bytesSent, long bytesReceived, String library, Throwable error) {
    if (startNs == 0 || !active) return;
    if (throwForTest) failForTest();
    try {
      long now = System.nanoTime();
      long end = endNs == 0 ? now : endNs;
      long duration = Math.max(0, end - startNs);
      Config c = config;
      // Rows are keyed like the L4 flow they join (client ip, server ip, server port): the
      // ephemeral port of the client's side is left out, or every connection would be a row.
      // Advice passes the literals (interned: the same instances), so identity mostly decides.
      boolean client = role == CLIENT || (role != SERVER && CLIENT.equals(role));
      String protocolText = nz(protocol);
      String roleText = nz(role);
      // A client library parses its URL per call: its host is a new String each time (also the
      // peer's ip when the host is a literal), and a Dubbo provider decodes the method's name
      // from each request. The sender compares a queued call's texts with its row's key long
      // after, when a new String is a cache miss each (and a young-GC copy while queued); the
      // thread's last equal text instead is compared by identity.
      int block = ThreadRecent.block();
      String local = ThreadRecent.same(block, ThreadRecent.LOCAL_IP, nz(localIp));
      int rowLocalPort = client ? 0 : localPort;
      String peer = ThreadRecent.same(block, ThreadRecent.PEER_IP, nz(peerIp));
      int rowPeerPort = client ? peerPort : 0;
      String serviceText = ThreadRecent.same(block, ThreadRecent.SERVICE, nz(service));
      String methodText = ThreadRecent.same(block, ThreadRecent.METHOD, nz(method));
      String cls = nz(statusClass);
      String lib = nz(library);
      // A sampled call without an error goes with its queued fields (the sender makes its
      // span); one with an error, or not queued, is offered here.
      boolean sampled = c.trace() && Spans.sampled(c.traceSampleRatio());
      boolean spanQueued = false;
      if (c.metrics()) {
        long spanEnd = sampled && error == null ? end : 0;
        long queued = PENDING.offer(protocolText, roleText, ssl, local, rowLocalPort, peer, rowPeerPort, serviceText,
            methodText, cls, lib, duration, responded, bytesSent, bytesReceived, spanEnd, status, localPort,
            peerPort);
        if (queued >= 0) {
          spanQueued = spanEnd != 0;
          if ((queued & (DRAIN_BATCH - 1)) == DRAIN_BATCH - 1) askForDrain();
        } else { // the queue is full: this thread adds its call itself
          aggregator.add(protocolText, roleText, ssl, local, rowLocalPort, peer, rowPeerPort, serviceText,
              methodText, cls, lib, duration, responded, bytesSent, bytesReceived);
        }
      }
      if (sampled && !spanQueued) {
        RowKey row = new RowKey(protocolText, roleText, ssl, local, rowLocalPort, peer, rowPeerPort, serviceText,
            methodText, cls, lib);
        // A span is one call on one connection: it keeps both ports.
        SPANS.offer(row, localPort, peerPort, status, System.currentTimeMillis() * 1_000_000L - (now - startNs),
            duration, error);
      }
    } catch (Throwable t) {
      internalError(t);
    }
  }

  private static void failForTest() {
    INTERNAL_ERRORS.incrementAndGet();
    throw new IllegalStateException("demarc debug=throw: simulated instrumentation failure");
  }

  /** Counts a failure inside the agent (advice, transformer, sender). */
  public static void internalError() {
    INTERNAL_ERRORS.incrementAndGet();
  }

  /** The last failure described ({@link #internalError(Throwable)}), until the report takes it. */
  private static volatile String lastInternalError;
  private static volatile long lastDescribedMs;

  /**
   * Counts a failure and, at most once a second, describes it (its class, message and the frame
   * it came from) for the next report: an operator sees why an instrumentation records nothing,
   * not only that something failed. Never throws. Also advice's exception handler (see
   * Installer): what inlined advice throws is handed here, then dropped.
   */
  public static void internalError(Throwable t) {
    internalError(null, t);
  }

  /** As {@link #internalError(Throwable)}; {@code where} (e.g. the class being instrumented) leads the description. */
  public static void internalError(String where, Throwable t) {
    INTERNAL_ERRORS.incrementAndGet();
    try {
      long now = System.currentTimeMillis();
      if (now - lastDescribedMs < 1000) return;
      lastDescribedMs = now;
      StringBuilder sb = new StringBuilder();
      if (where != null) sb.append(where).append(": ");
      sb.append(t);
      StackTraceElement[] frames = t.getStackTrace();
      if (frames.length > 0) sb.append(" at ").append(frames[0]);
      lastInternalError = sb.length() > 500 ? sb.substring(0, 500) : sb.toString();
    } catch (Throwable ignored) {
      // the count is what matters
    }
  }

  /** The failure described since the last call, or null; forgets it. */
  static String takeLastInternalError() {
    String e = lastInternalError;
    if (e != null) lastInternalError = null;
    return e;
  }

  public static long internalErrors() {
    return INTERNAL_ERRORS.get();
  }

  public static void activate(boolean on) {
    active = on;
    if (!on) { // they hold the application's objects
      ConnectionFacts.clear();
      ServletRoutes.clear();
      PENDING.clear();
      GrpcWire.clear();
      Reflect.unlinkAll();
      ThreadRecent.clear();
    }
  }

  public static boolean active() {
    return active;
  }

  public static void throwForTest(boolean on) {
    throwForTest = on;
  }

  /** Applies a new CONFIG; changed histogram bounds or cap start a fresh aggregator. */
  public static void configure(Config c) {
    Config old = config;
    config = c;
    if (!java.util.Arrays.equals(old.latencyBoundsNs(), c.latencyBoundsNs())
        || old.cardinalityCap() != c.cardinalityCap()) {
      aggregator = new Aggregator(c.latencyBoundsNs(), c.cardinalityCap());
    }
  }

  /** Forgets everything counted (a new attach starts from zero). */
  public static void reset() {
    ConnectionFacts.clear();
    ServletRoutes.clear();
    config = Config.DEFAULT;
    PENDING.clear();
    aggregator = new Aggregator(Config.DEFAULT.latencyBoundsNs(), Config.DEFAULT.cardinalityCap());
    SPANS.drain();
  }

  private static void askForDrain() {
    Thread d = drainer;
    if (d != null) LockSupport.unpark(d);
  }

  /** {@code t} adds queued calls to their rows from now on, when asked (unparked). */
  static synchronized void drainedBy(Thread t) {
    drainer = t;
  }

  /** {@code t} ended: it no longer drains (unless another thread has taken over already). */
  static synchronized void drainerGone(Thread t) {
    if (drainer == t) drainer = null;
  }

  /** Adds the queued ended calls to their rows; returns how many. The sender thread calls this when asked. */
  public static int drainPending() {
    return PENDING.drain(aggregator, SPANS);
  }

  /** Every call ended so far added to its row, then the rows' counts since the last flush. */
  public static Aggregator.Flush flush(boolean withBytes) {
    Aggregator a = aggregator;
    PENDING.drain(a, SPANS);
    return a.flush(withBytes);
  }

  /** Ended calls queued and not yet added to their rows. */
  static long pendingCalls() {
    return PENDING.size();
  }

  /**
   * Runs {@code read} while no drain is under way (one in progress finishes first, and none starts
   * until {@code read} returns): for tests that count calls both queued and in their rows, which a
   * drain running between the two reads would count twice.
   */
  static <T> T whileNotDraining(java.util.function.Supplier<T> read) {
    synchronized (PENDING.consumer()) {
      return read.get();
    }
  }

  public static Config config() {
    return config;
  }

  public static Aggregator aggregator() {
    return aggregator;
  }

  public static Spans spans() {
    return SPANS;
  }

  /** The spans payload ({@link Spans#drain}) of every call ended so far, queued ones too. */
  public static String drainSpans() {
    PENDING.drain(aggregator, SPANS);
    return SPANS.drain();
  }

  // ---- helpers advice uses to turn library objects into row fields ----

  public static String ip(SocketAddress a) {
    if (a instanceof InetSocketAddress i) {
      InetAddress ia = i.getAddress();
      return ia == null ? "" : ipText(ia);
    }
    return "";
  }

  /** An address and its text, as cached. */
  private record IpText(InetAddress address, String text) {}

  /** getHostAddress() builds a new string each time. */
  private static final java.util.concurrent.ConcurrentHashMap<InetAddress, IpText> IP_TEXT =
      new java.util.concurrent.ConcurrentHashMap<>();
  /**
   * The addresses met last, one per slot of their hash, in front of {@link #IP_TEXT}: a process
   * talks to few addresses, and one slot read and an address compare touch far less memory
   * than the map's lookup (table, node, key). Filled with the map's own entries, so a slot two
   * addresses take turns in allocates nothing.
   */
  private static final IpText[] RECENT_IPS = new IpText[64];

  /** The address as text (cached). */
  public static String ipText(InetAddress ia) {
    int h = ia.hashCode() * 0x9E3779B9;
    int slot = h >>> 26; // the top 6 bits: 64 slots
    IpText recent = RECENT_IPS[slot];
    if (recent != null && recent.address.equals(ia)) return recent.text;
    IpText t = IP_TEXT.get(ia);
    if (t == null) {
      t = new IpText(ia, ia.getHostAddress());
      if (IP_TEXT.size() < 4096) IP_TEXT.put(ia, t);
    }
    RECENT_IPS[slot] = t;
    return t.text;
  }

  public static int port(SocketAddress a) {
    return a instanceof InetSocketAddress i ? i.getPort() : 0;
  }

  /** The host itself when it is an IP literal (no DNS lookup on the caller's thread), else "". */
  public static String literalIp(String host) {
    if (host == null || host.isEmpty()) return "";
    if (host.charAt(0) == '[') return host.substring(1, host.length() - 1);
    if (host.indexOf(':') >= 0) return host;
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c != '.' && (c < '0' || c > '9')) return "";
    }
    return host;
  }

  /** A Content-Length header's value, or -1 when absent or not a number (chunked bodies). */
  public static long parseLength(String header) {
    if (header == null) return -1;
    try {
      return Long.parseLong(header.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Tomcat's response facade: the body bytes the application wrote (a chunked body's too). */
  private static final Reflect CONTENT_WRITTEN = Reflect.longGetter("getContentWritten");
  /** Jetty 12's servlet response: its channel's output counts the bytes written (a writer's, encoded). */
  private static final Reflect SERVLET_CHANNEL = new Reflect("getServletChannel");
  private static final Reflect HTTP_OUTPUT = new Reflect("getHttpOutput");
  private static final Reflect WRITTEN = Reflect.longGetter("getWritten");

  /**
   * The body bytes a servlet container counted as written to {@code response} (read as a number,
   * where a {@code Content-Length} header would be formatted as a String per call), or -1 when it
   * does not count them or counted none (then the caller reads Content-Length: a HEAD answer's,
   * or a file the container sent itself). Tomcat counts a writer's characters, not their bytes:
   * those are counted apart ({@link TomcatBody}). Jetty 12 counts bytes in its channel's output.
   */
  public static long servletBytesWritten(Object response) {
    long n = CONTENT_WRITTEN.callLong(response, -1);
    if (n >= 0) return n > 0 ? TomcatBody.bytes(response, n) : -1;
    n = WRITTEN.callLong(HTTP_OUTPUT.call(SERVLET_CHANNEL.call(response, null), null), -1);
    return n > 0 ? n : -1;
  }

  /** OkHttp 3.14's {@code Transmitter.hasExchange()}: its exchange's body still open. */
  private static final Reflect HAS_EXCHANGE = new Reflect("hasExchange");

  /**
   * Whether an OkHttp 3 call's response body is still open ({@code transmitter}'s
   * {@code hasExchange()}, looked up once per class, not per call); false when it cannot be told.
   */
  public static boolean okHttp3BodyOpen(Object transmitter) {
    return HAS_EXCHANGE.callBool(transmitter);
  }

  public static int defaultPort(int port, boolean ssl) {
    return port > 0 ? port : ssl ? 443 : 80;
  }

  /** "GET /path" with the query string cut off; the same String for the same verb and path. */
  public static String httpMethod(String verb, String path) {
    return MethodLabels.http(verb, path);
  }

  /**
   * A client call's label and peer IP from its URL's whole text, when this thread's last call was
   * to the same URL with the same verb; else null, and the advice asks {@link #clientUrl}.
   */
  public static MethodLabels.ClientUrl recentClientUrl(String verb, String url) {
    return url == null ? null : MethodLabels.recentClientUrl(verb, url);
  }

  /** A client call's label ({@link #httpMethod} of its path) and peer IP ({@link #literalIp} of its host). */
  public static MethodLabels.ClientUrl clientUrl(String verb, String url, String path, String host) {
    return MethodLabels.clientUrl(verb, url == null ? "" : url, path, host);
  }

  /** A gRPC full method name ("pkg.Service/Method") as its service and method (cached). */
  public static MethodLabels.Grpc grpcMethod(String fullMethodName) {
    return MethodLabels.grpc(fullMethodName);
  }

  /** The library label of a Dubbo consumer call over {@code protocol} ("dubbo-" + protocol). */
  public static String dubboLibrary(String protocol) {
    return switch (protocol) {
      case "dubbo" -> "dubbo-dubbo";
      case "tri" -> "dubbo-tri";
      default -> "dubbo-" + protocol;
    };
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }
}
