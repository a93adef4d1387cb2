package io.demarc.testapps.http;

import io.demarc.testapps.core.Outcome;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.time.Duration;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLSocketFactory;

/**
 * {@code HttpURLConnection}: reading each body to its end (error stream included) hands the
 * socket back to the JDK's keep-alive cache, so runs reuse connections.
 */
final class UrlConnectionLib implements HttpClientApp.Lib {
  private final URL url;
  private final int timeoutMs;
  private final SSLSocketFactory tls = Tls.trustAllContext().getSocketFactory();

  UrlConnectionLib(URI url, Duration timeout) throws IllegalArgumentException {
    try {
      this.url = url.toURL();
    } catch (java.net.MalformedURLException e) {
      throw new IllegalArgumentException("bad --url " + url, e);
    }
    this.timeoutMs = (int) timeout.toMillis();
  }

  @Override
  public Outcome call(byte[] payload) throws Exception {
    HttpURLConnection c = (HttpURLConnection) url.openConnection();
    if (c instanceof HttpsURLConnection s) {
      s.setSSLSocketFactory(tls);
      s.setHostnameVerifier((host, session) -> true);
    }
    c.setConnectTimeout(timeoutMs);
    c.setReadTimeout(timeoutMs);
    c.setRequestMethod("POST");
    c.setDoOutput(true);
    c.setFixedLengthStreamingMode(payload.length);
    try (OutputStream out = c.getOutputStream()) {
      out.write(payload);
    }
    int status = c.getResponseCode();
    InputStream in = status >= 400 ? c.getErrorStream() : c.getInputStream();
    long received = 0;
    if (in != null) {
      try (in) {
        received = in.readAllBytes().length;
      }
    }
    return new Outcome(Outcome.ofHttpStatus(status), payload.length, received,
        Outcome.port(c.getHeaderField(ServerApp.PEER_PORT)));
  }
}
