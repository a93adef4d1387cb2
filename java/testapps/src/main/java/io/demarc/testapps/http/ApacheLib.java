package io.demarc.testapps.http;

import io.demarc.testapps.core.Outcome;
import io.demarc.testapps.core.ServerApp;
import io.demarc.testapps.core.Tls;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.client5.http.ssl.HostnameVerificationPolicy;
import org.apache.hc.client5.http.ssl.NoopHostnameVerifier;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.util.Timeout;

/** Apache HttpClient 5 classic, with a pooling connection manager. */
final class ApacheLib implements HttpClientApp.Lib {
  private final URI url;
  private final CloseableHttpClient client;

  ApacheLib(URI url, Duration timeout) {
    this.url = url;
    Timeout t = Timeout.of(timeout);
    client = HttpClients.custom()
        .setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
            .setTlsSocketStrategy(new DefaultClientTlsStrategy(Tls.trustAllContext(),
                HostnameVerificationPolicy.CLIENT, NoopHostnameVerifier.INSTANCE))
            .setDefaultConnectionConfig(
                ConnectionConfig.custom().setConnectTimeout(t).setSocketTimeout(t).build())
            .setMaxConnTotal(64)
            .setMaxConnPerRoute(64)
            .build())
        .setDefaultRequestConfig(RequestConfig.custom().setResponseTimeout(t).build())
        .disableAutomaticRetries()
        .build();
  }

  @Override
  public Outcome call(byte[] payload) throws IOException {
    HttpPost post = new HttpPost(url);
    post.setEntity(new ByteArrayEntity(payload, ContentType.APPLICATION_OCTET_STREAM));
    return client.execute(post, resp -> {
      long received = resp.getEntity() == null ? 0 : EntityUtils.toByteArray(resp.getEntity()).length;
      Header port = resp.getFirstHeader(ServerApp.PEER_PORT);
      return new Outcome(Outcome.ofHttpStatus(resp.getCode()), payload.length, received,
          Outcome.port(port == null ? null : port.getValue()));
    });
  }

  @Override
  public void close() throws IOException {
    client.close();
  }
}
