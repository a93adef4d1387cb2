package io.demarc.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Iterator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;

/**
 * The application the agent is attached to in the tests: real servers (JDK HttpServer over HTTP
 * and HTTPS, embedded Tomcat, gRPC over Netty) and real clients of each library, driven by
 * commands on stdin. For every batch it prints its own count of calls and their mean latency,
 * the ground truth the agent's numbers are compared with.
 */
public final class ChildApp {
  private static HttpServer http;
  private static HttpsServer https;
  private static Tomcat tomcat;
  private static Server grpc;
  private static ManagedChannel channel;
  private static Server grpcTls;
  private static org.eclipse.jetty.server.Server jetty;
  private static ManagedChannel tlsChannel;
  private static SSLContext trustAll;
  private static BackgroundLoad load;
  private static final HttpClient JDK = HttpClient.newBuilder().build();
  /**
   * Own clients (so own connection pools) for the async and servlet calls: with several threads
   * on one pool the JDK's HttpClient itself now and then fails a call on loopback (a race of its
   * pool, no agent needed), and DetachUnderLoadTest runs these libraries side by side.
   */
  private static final HttpClient JDK_ASYNC = HttpClient.newBuilder().build();
  private static final HttpClient JDK_SERVLET = HttpClient.newBuilder().build();
  private static HttpClient jdkTls;
  private static final okhttp3.OkHttpClient OK = new okhttp3.OkHttpClient();
  private static final CloseableHttpClient APACHE = HttpClients.createDefault();

  static final MethodDescriptor.Marshaller<String> STRING = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  };
  static final MethodDescriptor<String, String> UNARY = MethodDescriptor.newBuilder(STRING, STRING)
      .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("demo.Echo/Say").build();
  static final MethodDescriptor<String, String> STREAM = MethodDescriptor.newBuilder(STRING, STRING)
      .setType(MethodDescriptor.MethodType.SERVER_STREAMING).setFullMethodName("demo.Echo/Count").build();

  public static void main(String[] args) throws Exception {
    String keystore = args.length > 0 ? args[0] : null;
    try {
      startServers(keystore);
    } catch (Exception e) {
      e.printStackTrace();
      System.out.println("error " + e); // the test stops waiting for "ready"
      System.exit(1);
    }
    System.out.println("ready");
    System.out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] w = line.trim().split("\\s+");
      try {
        switch (w[0]) {
          case "ports" -> System.out.println("ports " + http.getAddress().getPort() + " "
              + (https == null ? 0 : https.getAddress().getPort()) + " " + (tomcat == null ? 0 : tomcat.getConnector().getLocalPort())
              + " " + grpc.getPort() + " " + (grpcTls == null ? 0 : grpcTls.getPort()) + " "
              + (jetty == null ? 0 : ((org.eclipse.jetty.server.ServerConnector) jetty.getConnectors()[0]).getLocalPort()));
          case "run" -> System.out.println(run(w[1], Integer.parseInt(w[2]), w.length > 3 ? w[3] : "/echo"));
          // "load <threads> <lib>:<path>...": calls back to back until "load-stop" (prints the counts).
          case "load" -> {
            java.util.List<TimedCalls.Call> calls = new java.util.ArrayList<>();
            for (int i = 2; i < w.length; i++) {
              String[] lp = w[i].split(":", 2);
              calls.add(() -> call(lp[0], lp[1]));
            }
            load = new BackgroundLoad(calls, Integer.parseInt(w[1]));
            System.out.println("load started");
          }
          case "load-stop" -> System.out.println(load.stop());
          case "stats" -> System.out.println("stats " + gc() + Thread.activeCount() + " "
              + ManagementFactory.getClassLoadingMXBean().getLoadedClassCount() + " " + threadNames());
          // A system property, "-" when unset (e.g. the agent's demarc.agent.disabled).
          case "prop" -> System.out.println("prop " + System.getProperty(w[1], "-"));
          case "quit" -> System.exit(0);
          default -> System.out.println("error unknown command " + w[0]);
        }
      } catch (Exception e) {
        System.out.println("error " + e);
      }
      System.out.flush();
    }
    System.exit(0);
  }

  /** Collects first, so classes nobody references any more (spun method handles...) do not count. */
  private static String gc() {
    System.gc();
    return "";
  }

  private static String threadNames() {
    StringBuilder sb = new StringBuilder();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("demarc")) sb.append(t.getName()).append(',');
    }
    return sb.length() == 0 ? "-" : sb.toString();
  }

  private static void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    if (path.startsWith("/boom")) throw new IOException("handler failure");
    int code = path.startsWith("/status/") ? Integer.parseInt(path.substring(8)) : 200;
    byte[] body = "hello".getBytes(StandardCharsets.UTF_8);
    ex.getRequestBody().readAllBytes();
    if (path.startsWith("/wait/")) {
      try {
        Thread.sleep(Long.parseLong(path.substring(6)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    ex.sendResponseHeaders(code, body.length);
    if (path.startsWith("/slow/")) {
      // The head goes out at once (the JDK server flushes it); the body this many ms later.
      try {
        Thread.sleep(Long.parseLong(path.substring(6)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    ex.getResponseBody().write(body);
    ex.close();
  }

  private static void startServers(String keystore) throws Exception {
    http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.createContext("/", ChildApp::handle);
    http.setExecutor(Executors.newFixedThreadPool(4));
    http.start();
    trustAll = SSLContext.getInstance("TLS");
    trustAll.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] c, String a) {}

      @Override
      public void checkServerTrusted(X509Certificate[] c, String a) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    jdkTls = HttpClient.newBuilder().sslContext(trustAll).build();
    if (keystore != null) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (FileInputStream f = new FileInputStream(keystore)) {
        ks.load(f, "changeit".toCharArray());
      }
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, "changeit".toCharArray());
      SSLContext server = SSLContext.getInstance("TLS");
      server.init(kmf.getKeyManagers(), null, null);
      https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      https.setHttpsConfigurator(new HttpsConfigurator(server));
      https.createContext("/", ChildApp::handle);
      https.start();
    }
    // Tests that only need the JDK server skip Tomcat and gRPC: faster to start on a busy machine.
    if (Boolean.getBoolean("demarc.child.light")) return;
    tomcat = new Tomcat();
    tomcat.setBaseDir(Files.createTempDirectory("tomcat").toString());
    tomcat.setPort(0);
    tomcat.getConnector().setProperty("address", "127.0.0.1");
    Context ctx = tomcat.addContext("", null);
    Tomcat.addServlet(ctx, "api", new HttpServlet() {
      @Override
      protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String p = req.getPathInfo() == null ? "" : req.getPathInfo();
        resp.setStatus(p.startsWith("/status/") ? Integer.parseInt(p.substring(8)) : 200);
        resp.getWriter().write("hello");
      }
    });
    ctx.addServletMappingDecoded("/api/*", "api");
    tomcat.start();
    jetty = new org.eclipse.jetty.server.Server();
    org.eclipse.jetty.server.ServerConnector connector = new org.eclipse.jetty.server.ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    jetty.addConnector(connector);
    org.eclipse.jetty.ee11.servlet.ServletContextHandler jctx = new org.eclipse.jetty.ee11.servlet.ServletContextHandler();
    jctx.addServlet(new org.eclipse.jetty.ee11.servlet.ServletHolder(new HttpServlet() {
      @Override
      protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.getWriter().write("hello");
      }
    }), "/j/*");
    jetty.setHandler(jctx);
    jetty.start();
    grpc = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(echoService()).build()
        .start();
    channel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpc.getPort(), InsecureChannelCredentials.create())
        .build();
    if (keystore != null) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      try (FileInputStream f = new FileInputStream(keystore)) {
        ks.load(f, "changeit".toCharArray());
      }
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, "changeit".toCharArray());
      grpcTls = Grpc.newServerBuilderForPort(0, io.grpc.TlsServerCredentials.newBuilder()
          .keyManager(kmf.getKeyManagers()).build()).addService(echoService()).build().start();
      tlsChannel = Grpc.newChannelBuilderForAddress("127.0.0.1", grpcTls.getPort(),
          io.grpc.TlsChannelCredentials.newBuilder().trustManager(trusting(ks)).build()).build();
    }
  }

  /** Trust managers that trust the test's own self-signed certificate. */
  private static TrustManager[] trusting(KeyStore ks) throws Exception {
    javax.net.ssl.TrustManagerFactory tmf =
        javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(ks);
    return tmf.getTrustManagers();
  }

  private static ServerServiceDefinition echoService() {
    return ServerServiceDefinition.builder("demo.Echo")
            .addMethod(UNARY, ServerCalls.asyncUnaryCall((req, obs) -> {
              if (req.equals("bad")) {
                obs.onError(Status.INVALID_ARGUMENT.withDescription("bad").asRuntimeException());
              } else if (req.equals("boom")) {
                obs.onError(Status.INTERNAL.withDescription("boom").asRuntimeException());
              } else {
                obs.onNext("hi " + req);
                obs.onCompleted();
              }
            }))
            .addMethod(STREAM, ServerCalls.asyncServerStreamingCall((req, obs) -> {
              for (int i = 0; i < 3; i++) obs.onNext("n" + i);
              obs.onCompleted();
            }))
            .build();
  }

  /** Runs n calls, returns "result ok failed meanNs" (failed = the call threw). */
  private static String run(String lib, int n, String path) {
    return TimedCalls.run(n, () -> call(lib, path));
  }

  private static void call(String lib, String path) throws Exception {
    // Paths under /api go to Tomcat, the rest to the JDK HttpServer.
    int port = path.startsWith("/api") && tomcat != null ? tomcat.getConnector().getLocalPort()
        : path.startsWith("/j/") && jetty != null
            ? ((org.eclipse.jetty.server.ServerConnector) jetty.getConnectors()[0]).getLocalPort()
            : http.getAddress().getPort();
    String base = "http://127.0.0.1:" + port;
    switch (lib) {
      case "jdkclient" -> JDK.send(HttpRequest.newBuilder(URI.create(base + path)).build(),
          HttpResponse.BodyHandlers.ofString());
      case "jdkclient-async" -> JDK_ASYNC.sendAsync(HttpRequest.newBuilder(URI.create(base + path)).build(),
          HttpResponse.BodyHandlers.ofString()).join();
      case "jdkclient-https" -> jdkTls.send(HttpRequest.newBuilder(
          URI.create("https://127.0.0.1:" + https.getAddress().getPort() + path)).build(),
          HttpResponse.BodyHandlers.ofString());
      case "urlconn" -> urlconn(new URL(base + path));
      case "urlconn-https" -> {
        HttpsURLConnection c = (HttpsURLConnection) new URL(
            "https://127.0.0.1:" + https.getAddress().getPort() + path).openConnection();
        c.setSSLSocketFactory(trustAll.getSocketFactory());
        c.setHostnameVerifier((h, s) -> true);
        drain(c);
      }
      case "okhttp" -> {
        try (okhttp3.Response r = OK.newCall(new okhttp3.Request.Builder().url(base + path).build()).execute()) {
          r.body().string();
        }
      }
      case "okhttp-async" -> {
        CountDownLatch done = new CountDownLatch(1);
        AtomicInteger err = new AtomicInteger();
        OK.newCall(new okhttp3.Request.Builder().url(base + path).build()).enqueue(new okhttp3.Callback() {
          @Override
          public void onFailure(okhttp3.Call call, IOException e) {
            err.incrementAndGet();
            done.countDown();
          }

          @Override
          public void onResponse(okhttp3.Call call, okhttp3.Response response) {
            response.close();
            done.countDown();
          }
        });
        done.await();
        if (err.get() > 0) throw new IOException("okhttp async failed");
      }
      case "urlconn-post" -> {
        // A 3-byte body, fixed-length streaming.
        HttpURLConnection c = (HttpURLConnection) new URL(base + path).openConnection();
        c.setRequestMethod("POST");
        c.setDoOutput(true);
        c.setFixedLengthStreamingMode(3);
        try (java.io.OutputStream out = c.getOutputStream()) {
          out.write("hi!".getBytes(StandardCharsets.UTF_8));
        }
        drain(c);
      }
      case "urlconn-noread" -> {
        // Only the status: the body is never read, the stream never closed.
        HttpURLConnection c = (HttpURLConnection) new URL(base + path).openConnection();
        c.getResponseCode();
      }
      case "okhttp-noclose" -> OK.newCall(new okhttp3.Request.Builder().url(base + path).build()).execute().code();
      case "apache-noclose" -> {
        @SuppressWarnings("deprecation")
        org.apache.hc.client5.http.impl.classic.CloseableHttpResponse r = APACHE.execute(new HttpGet(base + path));
        r.getCode();
      }
      case "apache" -> APACHE.execute(new HttpGet(base + path), r -> {
        r.getEntity().getContent().readAllBytes();
        return r.getCode();
      });
      case "servlet" -> JDK_SERVLET.send(HttpRequest.newBuilder(URI.create(
          "http://127.0.0.1:" + tomcat.getConnector().getLocalPort() + path)).build(),
          HttpResponse.BodyHandlers.ofString());
      case "grpc-unary" -> ClientCalls.blockingUnaryCall(channel, UNARY, CallOptions.DEFAULT, path);
      case "grpc-tls" -> ClientCalls.blockingUnaryCall(tlsChannel, UNARY, CallOptions.DEFAULT, path);
      case "grpc-stream" -> {
        Iterator<String> it = ClientCalls.blockingServerStreamingCall(channel, STREAM, CallOptions.DEFAULT, path);
        while (it.hasNext()) it.next();
      }
      default -> throw new IllegalArgumentException("unknown library " + lib);
    }
  }

  private static void urlconn(URL url) throws IOException {
    drain((HttpURLConnection) url.openConnection());
  }

  private static void drain(HttpURLConnection c) throws IOException {
    int code = c.getResponseCode();
    InputStream s = code >= 400 ? c.getErrorStream() : c.getInputStream();
    if (s != null) {
      s.readAllBytes();
      s.close();
    }
  }

  static boolean isStatusError(Exception e) {
    return e instanceof StatusRuntimeException;
  }
}
