package io.demarc.testapps.http;

import io.demarc.testapps.core.ClientApp;
import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.Outcome;
import java.net.URI;
import java.time.Duration;

/**
 * {@code http-client --lib jdk|urlconnection|okhttp|apache --url http(s)://host:port/path}:
 * POSTs a payload to the URL with the chosen library and keeps its connections alive between runs.
 */
public final class HttpClientApp extends ClientApp {
  /** One HTTP library; {@link #call} POSTs and reads the whole response. */
  interface Lib extends AutoCloseable {
    Outcome call(byte[] payload) throws Exception;

    @Override
    default void close() throws Exception {}
  }

  private final String libName;
  private final Lib lib;

  public HttpClientApp(Flags flags) {
    URI url = URI.create(flags.required("url"));
    Duration timeout = Duration.ofMillis(flags.integer("timeout-ms", 30_000));
    libName = flags.get("lib", "jdk");
    lib = switch (libName) {
      case "jdk" -> new JdkClientLib(url, timeout);
      case "urlconnection" -> new UrlConnectionLib(url, timeout);
      case "okhttp" -> new OkHttpLib(url, timeout);
      case "apache" -> new ApacheLib(url, timeout);
      default -> throw new IllegalArgumentException(
          "--lib must be jdk, urlconnection, okhttp or apache, not " + libName);
    };
  }

  @Override
  public Outcome call(byte[] payload) throws Exception {
    return lib.call(payload);
  }

  @Override
  public String name() {
    return "http-client";
  }

  @Override
  public void close() {
    try {
      lib.close();
    } catch (Exception e) {
      System.err.println(libName + " close: " + e);
    }
  }
}
