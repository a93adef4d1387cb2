package io.demarc.testapps;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.demarc.testapps.core.App;
import io.demarc.testapps.core.Flags;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Test helpers: start apps in-process, read fields of their JSON answers. */
final class Apps {
  private Apps() {}

  static App start(String name, String... flags) throws Exception {
    return Main.start(name, new Flags(flags));
  }

  /** Sends a command and fails the test on an {@code error} answer. */
  static String ask(App app, String line) {
    String answer = app.command(line);
    assertFalse(answer.contains("\"error\""), line + " -> " + answer);
    return answer;
  }

  static long num(String json, String field) {
    Matcher m = Pattern.compile("\"" + field + "\":(-?[0-9.]+)").matcher(json);
    assertTrue(m.find(), field + " missing in " + json);
    return (long) Double.parseDouble(m.group(1));
  }

  static List<Integer> ports(String json) {
    Matcher m = Pattern.compile("\"localPorts\":\\[([0-9,]*)]").matcher(json);
    assertTrue(m.find(), "localPorts missing in " + json);
    List<Integer> ports = new ArrayList<>();
    for (String p : m.group(1).split(",")) if (!p.isEmpty()) ports.add(Integer.parseInt(p));
    return ports;
  }

  static int port(App server, String role) {
    return server.ports().get(role);
  }
}
