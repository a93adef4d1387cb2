package io.demarc.testapps;

import io.demarc.testapps.core.App;
import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.Json;
import io.demarc.testapps.dubbo.DubboConsumer;
import io.demarc.testapps.dubbo.DubboProvider;
import io.demarc.testapps.grpc.GrpcClient;
import io.demarc.testapps.grpc.GrpcServer;
import io.demarc.testapps.http.HttpClientApp;
import io.demarc.testapps.http.JdkHttpServer;
import io.demarc.testapps.http.JettyServer;
import io.demarc.testapps.http.TomcatServer;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code java -jar demarc-testapps.jar <app> [--flag value ...]}: starts one app, prints
 * {@code READY {...}}, then answers each stdin line with one JSON line on stdout.
 *
 * <p>stdout carries only those lines: whatever a library prints goes to stderr.
 */
public final class Main {
  static final List<String> APPS = List.of("dubbo-provider", "dubbo-consumer", "grpc-server",
      "grpc-client", "http-server", "jetty-server", "jdk-http-server", "http-client");

  /** Held so the level sticks: library loggers (JUL) speak up for warnings only, on stderr. */
  private static final java.util.logging.Logger QUIET = java.util.logging.Logger.getLogger("org.apache");

  static {
    QUIET.setLevel(java.util.logging.Level.WARNING);
    System.setProperty("dubbo.application.logger", "jdk");
  }

  private Main() {}

  /** Starts the app called {@code name}. */
  public static App start(String name, Flags flags) throws Exception {
    return switch (name) {
      case "dubbo-provider" -> new DubboProvider(flags);
      case "dubbo-consumer" -> new DubboConsumer(flags);
      case "grpc-server" -> new GrpcServer(flags);
      case "grpc-client" -> new GrpcClient(flags);
      case "http-server" -> new TomcatServer(flags);
      case "jetty-server" -> new JettyServer(flags);
      case "jdk-http-server" -> new JdkHttpServer(flags);
      case "http-client" -> new HttpClientApp(flags);
      default -> throw new IllegalArgumentException("unknown app " + name + "; one of " + APPS);
    };
  }

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    System.setOut(System.err);
    if (args.length == 0) {
      System.err.println("usage: <app> [--flag value ...]; apps: " + APPS + " (see README.md)");
      System.exit(2);
    }
    Flags flags = new Flags(Arrays.copyOfRange(args, 1, args.length));
    App app = start(args[0], flags);
    Map<String, Object> ready = new LinkedHashMap<>();
    ready.put("app", app.name());
    ready.put("ports", app.ports());
    ready.put("pid", ProcessHandle.current().pid());
    out.println("READY " + Json.write(ready));

    // A server outlives the end of stdin (demo: started with </dev/null, steered by
    // --control-file); a client has nothing left to do then.
    boolean server = !app.ports().isEmpty();
    String exec = flags.get("exec", null);
    if (exec != null) {
      for (String line : exec.split(";")) {
        if (!line.isBlank() && !answer(app, line.trim(), out)) break;
      }
      if (!server) shutdown(app);
    }
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line; (line = in.readLine()) != null; ) {
      if (line.isBlank()) continue;
      if (!answer(app, line.trim(), out)) shutdown(app);
    }
    if (!server) shutdown(app);
    Thread.currentThread().join();
  }

  /** @returns false once the line was {@code quit} */
  private static boolean answer(App app, String line, PrintStream out) {
    if (line.equals("quit")) {
      out.println("{\"ok\":true,\"quit\":true}");
      return false;
    }
    String reply;
    try {
      reply = app.command(line);
    } catch (RuntimeException e) {
      reply = Json.write(Map.of("error", String.valueOf(e)));
    }
    out.println(reply);
    return true;
  }

  private static void shutdown(App app) {
    try {
      app.close();
    } finally {
      System.exit(0);
    }
  }
}
