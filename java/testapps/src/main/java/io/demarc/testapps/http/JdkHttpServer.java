package io.demarc.testapps.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** {@code jdk-http-server}: the JDK's {@code com.sun.net.httpserver} HttpServer and HttpsServer. */
public final class JdkHttpServer extends ServerApp {
  private final ExecutorService pool = Executors.newFixedThreadPool(32);
  private final HttpServer http;
  private final HttpsServer https;

  public JdkHttpServer(Flags flags) throws IOException {
    super(flags);
    // Without TCP_NODELAY the JDK server's separate header and body writes meet delayed ACKs:
    // ~40 ms per keep-alive request. Read once, when the server classes first load.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    System.setProperty("sun.net.httpserver.idleInterval", Integer.toString(IDLE_TIMEOUT_MS / 1000));
    http = HttpServer.create(new InetSocketAddress(host, flags.integer("port", 0)), 0);
    setUp(http);
    int tlsPort = flags.integer("tls-port", 0);
    if (tlsPort < 0) {
      https = null;
    } else {
      https = HttpsServer.create(new InetSocketAddress(host, tlsPort), 0);
      https.setHttpsConfigurator(new HttpsConfigurator(Tls.serverContext()));
      setUp(https);
    }
  }

  private void setUp(HttpServer server) {
    // Contexts match by prefix, like the servlet mappings of the other servers.
    server.createContext("/echo", this::serve);
    server.createContext("/users/", this::serve);
    server.createContext("/status/", this::serve);
    server.setExecutor(pool);
    server.start();
  }

  private void serve(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body;
      try (InputStream in = ex.getRequestBody()) {
        body = in.readAllBytes();
      }
      HttpRoutes.Reply r = HttpRoutes.handle(faults, ex.getRequestURI().getPath(), body);
      ex.getResponseHeaders().set("Content-Type", r.contentType());
      ex.getResponseHeaders().set(PEER_PORT, Integer.toString(ex.getRemoteAddress().getPort()));
      ex.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(r.body());
      }
      faults.sent(r.body().length);
    }
  }

  @Override
  public String name() {
    return "jdk-http-server";
  }

  @Override
  public Map<String, Integer> ports() {
    Map<String, Integer> p = new LinkedHashMap<>();
    p.put("plain", http.getAddress().getPort());
    if (https != null) p.put("tls", https.getAddress().getPort());
    return p;
  }

  @Override
  public void close() {
    http.stop(0);
    if (https != null) https.stop(0);
    pool.shutdownNow();
  }
}
