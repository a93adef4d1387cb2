package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import io.demarc.agent.core.InFlight;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;
import net.bytebuddy.asm.Advice;

/**
 * JDK HttpURLConnection ({@code sun.net.www.protocol.http.HttpURLConnection.getInputStream}, also
 * reached through getResponseCode): the exchange is the first getInputStream that finds no
 * stream and no remembered failure; later calls return what was fetched and are not counted. The
 * call starts when the connection began connecting (getOutputStream or connect before it: the
 * request is part of the call), else at getInputStream.
 * Request body bytes: the fixed streaming length, or the buffered body's size while the JDK still
 * holds it; -1 (unknown) otherwise (chunked streaming, a buffered body already sent).
 * HTTPS goes through the same class (as the delegate of HttpsURLConnectionImpl). With the head in,
 * the call waits in {@link BodyWait} until its body is read to the end, the stream closed or the
 * connection disconnected ({@link HttpUrlConnectionBodyAdvice}); a response without a body is
 * recorded at once.
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
  public static void exit(@Advice.Enter long entered, @Advice.This HttpURLConnection self,
      @Advice.FieldValue("responseCode") int status, @Advice.FieldValue("inputStream") InputStream in,
      @Advice.FieldValue("errorStream") InputStream buffered, @Advice.FieldValue("fixedContentLength") int fixed,
      @Advice.FieldValue("fixedContentLengthLong") long fixedLong, @Advice.FieldValue("chunkLength") int chunk,
      @Advice.FieldValue("poster") java.io.ByteArrayOutputStream poster, @Advice.Thrown Throwable thrown) {
    if (entered == 0) return; // not the first fetch (nested calls from inside it included)
    long connected = InFlight.end(self); // when connecting began (HttpUrlConnectionConnectAdvice)
    long start = connected != 0 && connected < entered ? connected : entered;
    // Request body: fixed-length streaming, or the buffered body; chunked streaming is unknown.
    long sent = fixedLong != -1 ? fixedLong : fixed != -1 ? fixed : poster != null ? poster.size()
        : chunk != -1 ? -1 : self.getDoOutput() ? -1 : 0;
    URL url = self.getURL();
    boolean ssl = "https".equalsIgnoreCase(url.getProtocol());
    String host = url.getHost();
    String verb = self.getRequestMethod();
    String method = Recorder.httpMethod(verb, url.getPath());
    String ip = Recorder.literalIp(host);
    int port = Recorder.defaultPort(url.getPort(), ssl);
    long length = status > 0 ? self.getHeaderFieldLong("content-length", -1) : -1;
    // No body to wait for: no answer, an empty or bodiless answer, or an error body the JDK buffered.
    if (status <= 0 || in == null || buffered != null || length == 0 || status == 204 || status == 304
        || "HEAD".equals(verb)) {
      Recorder.record("http", "client", ssl, "", 0, ip, port, host, method, status, StatusClass.http(status),
          status > 0, start, sent, length, "httpurlconnection", status > 0 ? null : thrown);
      return;
    }
    // Keyed by the response stream the application reads (also the error stream, unbuffered).
    BodyWait.await(in, ssl, ip, port, host, method, status, start, sent, length, "httpurlconnection");
  }
}
