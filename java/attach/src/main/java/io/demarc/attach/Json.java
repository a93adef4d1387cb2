package io.demarc.attach;

import java.util.LinkedHashMap;
import java.util.Map;

/** Builds the one JSON line the helper prints; only strings, numbers, booleans and nested maps. */
final class Json {
  private Json() {}

  static String write(Map<String, ?> obj) {
    StringBuilder sb = new StringBuilder();
    writeValue(sb, obj);
    return sb.toString();
  }

  static Map<String, Object> obj() {
    return new LinkedHashMap<>();
  }

  private static void writeValue(StringBuilder sb, Object v) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof Map<?, ?> m) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) sb.append(',');
        first = false;
        writeString(sb, String.valueOf(e.getKey()));
        sb.append(':');
        writeValue(sb, e.getValue());
      }
      sb.append('}');
    } else if (v instanceof Number || v instanceof Boolean) {
      sb.append(v);
    } else {
      writeString(sb, v.toString());
    }
  }

  private static void writeString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    sb.append('"');
  }
}
