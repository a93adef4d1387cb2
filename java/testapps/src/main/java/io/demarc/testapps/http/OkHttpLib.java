package io.demarc.testapps.http;

import io.demarc.testapps.core.Outcome;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import java.net.URI;
import java.time.Duration;
import okhttp3.ConnectionPool;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/** OkHttp 4, synchronous calls through one client (one connection pool). */
final class OkHttpLib implements HttpClientApp.Lib {
  private static final MediaType OCTETS = MediaType.get("application/octet-stream");
  private final String url;
  private final OkHttpClient client;

  OkHttpLib(URI url, Duration timeout) {
    this.url = url.toString();
    client = new OkHttpClient.Builder()
        .sslSocketFactory(Tls.trustAllContext().getSocketFactory(), Tls.TRUST_ALL)
        .hostnameVerifier((host, session) -> true)
        .connectionPool(new ConnectionPool(64, 5, java.util.concurrent.TimeUnit.MINUTES))
        .retryOnConnectionFailure(false)
        .connectTimeout(timeout)
        .readTimeout(timeout)
        .writeTimeout(timeout)
        .build();
  }

  @Override
  public Outcome call(byte[] payload) throws Exception {
    Request req = new Request.Builder().url(url).post(RequestBody.create(payload, OCTETS)).build();
    try (Response resp = client.newCall(req).execute()) {
      ResponseBody body = resp.body();
      long received = body == null ? 0 : body.bytes().length;
      return new Outcome(Outcome.ofHttpStatus(resp.code()), payload.length, received,
          Outcome.port(resp.header(ServerApp.PEER_PORT)));
    }
  }

  @Override
  public void close() {
    client.dispatcher().executorService().shutdown();
    client.connectionPool().evictAll();
  }
}
