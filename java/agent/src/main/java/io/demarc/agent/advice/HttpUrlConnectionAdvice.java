package io.demarc.agent.advice;

import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import net.bytebuddy.asm.Advice;

/**
 * JDK HttpURLConnection ({@code sun.net.www.protocol.http.HttpURLConnection.getInputStream}, also
 * reached through getResponseCode): the exchange is the first getInputStream that finds no
 * stream and no remembered failure; later calls return what was fetched and are not counted.
 * HTTPS goes through the same class (as the delegate of HttpsURLConnectionImpl).
 */
public final class HttpUrlConnectionAdvice {
  private HttpUrlConnectionAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter(@Advice.FieldValue("inputStream") InputStream in,
      @Advice.FieldValue("rememberedException") Exception remembered) {
    if (in != null || remembered != null) return 0;
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This HttpURLConnection self,
      @Advice.FieldValue("responseCode") int status, @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    URL url = self.getURL();
    boolean ssl = "https".equalsIgnoreCase(url.getProtocol());
    String host = url.getHost();
    Recorder.record("http", "client", ssl, "", 0, Recorder.literalIp(host), Recorder.defaultPort(url.getPort(), ssl),
        host, Recorder.httpMethod(self.getRequestMethod(), url.getPath()), status, StatusClass.http(status),
        status > 0, start, -1, status > 0 ? self.getHeaderFieldLong("content-length", -1) : -1, "httpurlconnection",
        status > 0 ? null : thrown);
  }
}
