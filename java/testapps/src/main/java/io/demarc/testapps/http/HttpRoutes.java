package io.demarc.testapps.http;

import io.demarc.testapps.core.Faults;
import java.nio.charset.StandardCharsets;

/**
 * The routes every HTTP server serves, whatever its library:
 * {@code /echo} (the request body back), {@code /users/{id}} (a small JSON document) and
 * {@code /status/{code}} (that status). Injected faults apply to all of them.
 */
public final class HttpRoutes {
  /** A response to write. */
  public record Reply(int status, byte[] body, String contentType) {}

  private HttpRoutes() {}

  public static Reply handle(Faults faults, String path, byte[] body) {
    if (faults.admit(body.length)) {
      int status = Integer.parseInt(faults.errorCode("500"));
      return text(status, "demarc: injected error\n");
    }
    if (path.equals("/echo")) return new Reply(200, body, "application/octet-stream");
    if (path.startsWith("/users/")) {
      String id = path.substring("/users/".length());
      if (!id.matches("[0-9]{1,18}")) return text(404, "no such user\n");
      String json = "{\"id\":" + id + ",\"name\":\"user-" + id + "\"}";
      return new Reply(200, json.getBytes(StandardCharsets.UTF_8), "application/json");
    }
    if (path.startsWith("/status/")) {
      try {
        int code = Integer.parseInt(path.substring("/status/".length()));
        if (code >= 200 && code <= 599) return text(code, "status " + code + "\n");
      } catch (NumberFormatException e) {
        // falls through to 400
      }
      return text(400, "bad status\n");
    }
    return text(404, "not found\n");
  }

  private static Reply text(int status, String s) {
    return new Reply(status, s.getBytes(StandardCharsets.UTF_8), "text/plain");
  }
}
