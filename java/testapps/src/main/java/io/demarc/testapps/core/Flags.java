package io.demarc.testapps.core;

import java.util.HashMap;
import java.util.Map;

/** Command-line flags: {@code --name value}, {@code --name=value}, or a bare {@code --name} (true). */
public final class Flags {
  private final Map<String, String> values = new HashMap<>();

  public Flags(String[] args) {
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument: " + a);
      String name = a.substring(2);
      int eq = name.indexOf('=');
      if (eq >= 0) {
        values.put(name.substring(0, eq), name.substring(eq + 1));
      } else if (i + 1 < args.length && !args[i + 1].startsWith("--")) {
        values.put(name, args[++i]);
      } else {
        values.put(name, "true");
      }
    }
  }

  public String get(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  public String required(String name) {
    String v = values.get(name);
    if (v == null) throw new IllegalArgumentException("missing flag --" + name);
    return v;
  }

  public int integer(String name, int fallback) {
    String v = values.get(name);
    return v == null ? fallback : Integer.parseInt(v);
  }

  public boolean bool(String name) {
    return Boolean.parseBoolean(values.getOrDefault(name, "false"));
  }
}
