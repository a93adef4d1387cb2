package io.demarc.testapps.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One control line split into a verb, positional words and {@code key=value} options. */
public record Command(String verb, List<String> args, Map<String, String> options) {
  public static Command parse(String line) {
    String[] words = line.trim().split("\\s+");
    List<String> args = new ArrayList<>();
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 1; i < words.length; i++) {
      int eq = words[i].indexOf('=');
      if (eq > 0) options.put(words[i].substring(0, eq), words[i].substring(eq + 1));
      else args.add(words[i]);
    }
    return new Command(words[0], args, options);
  }

  public static String error(String message) {
    return Json.write(Map.of("error", message));
  }
}
