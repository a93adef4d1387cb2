package io.demarc.testapps.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A server's run-time switches (injected latency, error rate) and its own counts.
 *
 * <p>Errors are spread deterministically, not drawn at random: with {@code error_rate=0.25}
 * exactly every 4th call fails, so tests can predict counts exactly.
 */
public final class Faults {
  private volatile long latencyMs;
  private volatile double errorRate;
  private volatile String errorCode;
  private final AtomicLong sequence = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLong bytesReceived = new AtomicLong();
  private final AtomicLong bytesSent = new AtomicLong();

  /**
   * Called by a handler once per request: sleeps the injected latency, counts the request.
   *
   * @param requestBytes application bytes received
   * @returns true when this request must fail
   */
  public boolean admit(long requestBytes) {
    requests.incrementAndGet();
    bytesReceived.addAndGet(requestBytes);
    long sleep = latencyMs;
    if (sleep > 0) {
      try {
        Thread.sleep(sleep);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    double rate = errorRate;
    if (rate <= 0) return false;
    long i = sequence.getAndIncrement();
    boolean fail = Math.floor((i + 1) * rate) > Math.floor(i * rate);
    if (fail) errors.incrementAndGet();
    return fail;
  }

  /** Counts application bytes sent in a response. */
  public void sent(long responseBytes) {
    bytesSent.addAndGet(responseBytes);
  }

  /** The {@code error_code} last set (an HTTP status, a gRPC status name...), or the fallback. */
  public String errorCode(String fallback) {
    String c = errorCode;
    return c == null ? fallback : c;
  }

  /** Handles {@code set}, {@code stats} and {@code reset}; null for other verbs. */
  public String command(Command c) {
    switch (c.verb()) {
      case "set" -> {
        for (Map.Entry<String, String> o : c.options().entrySet()) {
          switch (o.getKey()) {
            case "latency_ms" -> latencyMs = Long.parseLong(o.getValue());
            case "error_rate" -> {
              double r = Double.parseDouble(o.getValue());
              if (r < 0 || r > 1) return Command.error("error_rate must be within 0..1");
              errorRate = r;
            }
            case "error_code" -> errorCode = o.getValue().isEmpty() ? null : o.getValue();
            default -> {
              return Command.error("unknown setting " + o.getKey());
            }
          }
        }
        return Json.write(settings());
      }
      case "stats" -> {
        Map<String, Object> m = settings();
        m.put("requests", requests.get());
        m.put("errors", errors.get());
        m.put("bytesReceived", bytesReceived.get());
        m.put("bytesSent", bytesSent.get());
        return Json.write(m);
      }
      case "reset" -> {
        requests.set(0);
        errors.set(0);
        bytesReceived.set(0);
        bytesSent.set(0);
        sequence.set(0);
        return Json.write(Map.of("ok", true));
      }
      default -> {
        return null;
      }
    }
  }

  private Map<String, Object> settings() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("ok", true);
    m.put("latency_ms", latencyMs);
    m.put("error_rate", errorRate);
    m.put("error_code", errorCode);
    return m;
  }

  /**
   * Watches a file for a {@code set ...} line (the last one wins), for demos without a stdin.
   * Polls its modification time every 200 ms on a daemon thread.
   */
  public void watch(Path file) {
    Thread t = new Thread(() -> {
      long seen = -1;
      while (true) {
        try {
          long mtime = Files.exists(file) ? Files.getLastModifiedTime(file).toMillis() : -1;
          if (mtime != seen) {
            seen = mtime;
            if (mtime >= 0) applyFile(file);
          }
          Thread.sleep(200);
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          System.err.println("control file " + file + ": " + e);
        }
      }
    }, "demarc-control-file");
    t.setDaemon(true);
    t.start();
  }

  private void applyFile(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file);
    for (int i = lines.size() - 1; i >= 0; i--) {
      String line = lines.get(i).trim();
      if (line.startsWith("set")) {
        System.err.println("control file " + file + ": " + command(Command.parse(line)));
        return;
      }
    }
  }
}
