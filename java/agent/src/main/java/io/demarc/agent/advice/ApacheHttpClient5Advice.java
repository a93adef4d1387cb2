package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import io.demarc.agent.core.Handoff;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import net.bytebuddy.asm.Advice;
import org.apache.hc.client5.http.classic.ExecRuntime;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.net.URIAuthority;

/**
 * Apache HttpClient 5 classic, on {@code doExecute(HttpHost, ClassicHttpRequest, HttpContext)} of
 * each CloseableHttpClient implementation: every execute overload ends there. When the response
 * still holds its connection (a body to read), the call waits in {@link BodyWait}, keyed by the
 * call's exec runtime (left by {@link ApacheExecRuntimeAdvice}), until the runtime releases or
 * discards the connection: the entity read to its end or the response closed.
 */
public final class ApacheHttpClient5Advice {
  private ApacheHttpClient5Advice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    long start = Recorder.start();
    if (start != 0) Handoff.take().runtime = null;
    return start;
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.Argument(0) HttpHost target,
      @Advice.Argument(1) ClassicHttpRequest req, @Advice.Return ClassicHttpResponse response,
      @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    Handoff h = Handoff.take();
    Object runtime = h.runtime;
    h.runtime = null;
    String scheme = target != null ? target.getSchemeName() : req.getScheme();
    URIAuthority auth = req.getAuthority();
    String host = target != null ? target.getHostName() : auth != null ? auth.getHostName() : "";
    int port = target != null ? target.getPort() : auth != null ? auth.getPort() : -1;
    boolean ssl = "https".equalsIgnoreCase(scheme);
    String ip = target != null && target.getAddress() != null ? target.getAddress().getHostAddress()
        : Recorder.literalIp(host);
    int status = response == null ? -1 : response.getCode();
    String method = Recorder.httpMethod(req.getMethod(), req.getPath());
    long sent = req.getEntity() == null ? 0 : req.getEntity().getContentLength();
    long received = response == null || response.getEntity() == null ? -1 : response.getEntity().getContentLength();
    port = Recorder.defaultPort(port, ssl);
    if (response != null && thrown == null && runtime instanceof ExecRuntime rt && rt.isEndpointAcquired()) {
      BodyWait.await(runtime, ssl, ip, port, host, method, status, start, sent, received, "apache-httpclient5");
      return;
    }
    Recorder.record("http", "client", ssl, "", 0, ip, port, host, method, status, StatusClass.http(status),
        response != null, start, sent, received, "apache-httpclient5", thrown);
  }
}
