package io.demarc.agent.dubbo;

import io.demarc.agent.TimedCalls;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * The stdin line protocol of the Dubbo child apps (see Child): "ports", "run N message" (N calls,
 * prints "result ok failed meanNs"; the message "fail" makes the service throw), "quit". Kept
 * apart from the apps so that the Dubbo 2.7 one loads no Dubbo 3 class.
 */
final class EchoLoop {
  private EchoLoop() {}

  static void serve(Echo echo, int port) throws Exception {
    serve(echo, port, System.out);
  }

  /** With {@code out} the protocol's stream (the app may have pointed System.out elsewhere). */
  static void serve(Echo echo, int port, java.io.PrintStream out) throws Exception {
    out.println("ready");
    out.flush();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      String[] w = line.trim().split("\\s+");
      if (w[0].equals("quit")) break;
      if (w[0].equals("ports")) {
        out.println("ports " + port);
      } else if (w[0].equals("run")) {
        String argument = w[2];
        out.println(TimedCalls.run(Integer.parseInt(w[1]), () -> echo.echo(argument)));
      } else {
        out.println("error unknown command");
      }
      out.flush();
    }
    System.exit(0);
  }
}
