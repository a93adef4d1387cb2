package io.demarc.testapps.http;

import io.demarc.testapps.core.Outcome;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** {@code java.net.http.HttpClient}, HTTP/1.1 so that each connection is a plain TCP stream. */
final class JdkClientLib implements HttpClientApp.Lib {
  private final URI url;
  private final Duration timeout;
  private final HttpClient client;

  JdkClientLib(URI url, Duration timeout) {
    this.url = url;
    this.timeout = timeout;
    client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .sslContext(Tls.trustAllContext())
        .connectTimeout(timeout)
        .build();
  }

  @Override
  public Outcome call(byte[] payload) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(url)
        .timeout(timeout)
        .POST(HttpRequest.BodyPublishers.ofByteArray(payload))
        .build();
    HttpResponse<byte[]> resp = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
    return new Outcome(Outcome.ofHttpStatus(resp.statusCode()), payload.length, resp.body().length,
        Outcome.port(resp.headers().firstValue(ServerApp.PEER_PORT).orElse(null)));
  }
}
