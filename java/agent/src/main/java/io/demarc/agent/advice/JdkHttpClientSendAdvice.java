package io.demarc.agent.advice;

import io.demarc.agent.core.Handoff;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import net.bytebuddy.asm.Advice;

/**
 * JDK java.net.http, the blocking {@code HttpClientImpl.send}: the call is over when send
 * returns or throws, so it is recorded right there, with nothing chained into the response
 * future. The {@code sendAsync} that send runs inside is told (through {@link Handoff}) that this
 * call is measured already; {@link JdkHttpClientAdvice} measures the application's own sendAsync.
 */
public final class JdkHttpClientSendAdvice {
  private JdkHttpClientSendAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter(@Advice.Local("handoff") Handoff handoff) {
    long start = Recorder.start();
    if (start != 0) {
      handoff = Handoff.take(); // kept for the exit: one thread-local lookup per call
      handoff.jdkSend = true;
    }
    return start;
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.Local("handoff") Handoff handoff,
      @Advice.Argument(0) HttpRequest req, @Advice.Return HttpResponse<?> response, @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    handoff.jdkSend = false; // also when sendAsync never ran (send failed before it)
    URI uri = req.uri();
    boolean ssl = "https".equalsIgnoreCase(uri.getScheme());
    String host = uri.getHost();
    int status = response == null ? -1 : response.statusCode();
    Recorder.record("http", "client", ssl, "", 0, Recorder.literalIp(host), Recorder.defaultPort(uri.getPort(), ssl),
        host, Recorder.httpMethod(req.method(), uri.getRawPath()), status, StatusClass.http(status), status > 0,
        start, -1, -1, "jdk-httpclient", thrown);
  }
}
