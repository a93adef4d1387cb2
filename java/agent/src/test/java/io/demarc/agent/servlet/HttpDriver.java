package io.demarc.agent.servlet;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

/**
 * The stdin line protocol of the test's child JVMs (see Child) for an app with one HTTP server:
 * "ports" prints its port, "run N path" makes N JDK HttpClient GETs to it and prints "result ok
 * failed meanNs" (failed = no response; an error status is a response), "server" prints the
 * server's own count and mean since the last "server" (ServerClock), "quit" ends the JVM.
 * Frameworks may print to System.out: the protocol keeps the original stream and points
 * System.out at System.err before the server starts.
 */
public final class HttpDriver {
  private final PrintStream out = System.out;
  private final HttpClient client = HttpClient.newHttpClient();
  private final java.util.function.Supplier<String> serverReport;

  /** {@code serverReport}: the server's own "server calls meanNs" (javax or jakarta filter). */
  public HttpDriver(java.util.function.Supplier<String> serverReport) {
    this.serverReport = serverReport;
    System.setOut(System.err);
  }

  public void serve(int port) throws Exception {
    out.println("ready");
    out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] w = line.trim().split("\\s+");
      switch (w[0]) {
        case "quit" -> System.exit(0);
        case "ports" -> out.println("ports " + port);
        case "server" -> out.println(serverReport.get());
        case "run" -> out.println(run(port, Integer.parseInt(w[1]), w[2]));
        default -> out.println("error unknown command " + w[0]);
      }
      out.flush();
    }
    System.exit(0);
  }

  private String run(int port, int n, String path) {
    int ok = 0;
    int failed = 0;
    long total = 0;
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build();
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      try {
        client.send(req, HttpResponse.BodyHandlers.ofString());
        ok++;
      } catch (Exception e) {
        failed++;
      }
      total += System.nanoTime() - t0;
    }
    return "result " + ok + " " + failed + " " + (n == 0 ? 0 : total / n);
  }
}
