package io.demarc.agent.advice;

import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import net.bytebuddy.asm.Advice;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.net.URIAuthority;

/**
 * Apache HttpClient 5 classic, on {@code doExecute(HttpHost, ClassicHttpRequest, HttpContext)} of
 * each CloseableHttpClient implementation: every execute overload ends there. The call ends when
 * the response head is in (before the application reads the body).
 */
public final class ApacheHttpClient5Advice {
  private ApacheHttpClient5Advice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.Argument(0) HttpHost target,
      @Advice.Argument(1) ClassicHttpRequest req, @Advice.Return ClassicHttpResponse response,
      @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    String scheme = target != null ? target.getSchemeName() : req.getScheme();
    URIAuthority auth = req.getAuthority();
    String host = target != null ? target.getHostName() : auth != null ? auth.getHostName() : "";
    int port = target != null ? target.getPort() : auth != null ? auth.getPort() : -1;
    boolean ssl = "https".equalsIgnoreCase(scheme);
    String ip = target != null && target.getAddress() != null ? target.getAddress().getHostAddress()
        : Recorder.literalIp(host);
    int status = response == null ? -1 : response.getCode();
    Recorder.record("http", "client", ssl, "", 0, ip, Recorder.defaultPort(port, ssl), host,
        Recorder.httpMethod(req.getMethod(), req.getPath()), status, StatusClass.http(status), response != null,
        start, req.getEntity() == null ? 0 : req.getEntity().getContentLength(),
        response == null || response.getEntity() == null ? -1 : response.getEntity().getContentLength(),
        "apache-httpclient5", thrown);
  }
}
