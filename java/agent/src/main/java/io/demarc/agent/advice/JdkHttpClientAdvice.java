package io.demarc.agent.advice;

import io.demarc.agent.core.Handoff;
import io.demarc.agent.core.HttpCompletion;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import java.net.URI;
import java.net.http.HttpRequest;
import java.util.concurrent.CompletableFuture;
import net.bytebuddy.asm.Advice;

/**
 * JDK java.net.http, on the private 4-argument {@code HttpClientImpl.sendAsync} that both
 * {@code send} and {@code sendAsync} go through. The call ends when the returned future does: a
 * completion callback per call, for the application's own sendAsync only (a blocking send is
 * recorded by {@link JdkHttpClientSendAdvice} when it returns, without one).
 */
public final class JdkHttpClientAdvice {
  private JdkHttpClientAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    if (!Recorder.active()) return 0;
    Handoff h = Handoff.take();
    if (h.jdkSend) {
      h.jdkSend = false; // the send this runs inside measures the call (JdkHttpClientSendAdvice)
      return 0; // (and reads no clock for it)
    }
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.Argument(0) HttpRequest req,
      @Advice.Return CompletableFuture<?> future, @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    URI uri = req.uri();
    boolean ssl = "https".equalsIgnoreCase(uri.getScheme());
    String host = uri.getHost();
    int port = Recorder.defaultPort(uri.getPort(), ssl);
    String method = Recorder.httpMethod(req.method(), uri.getRawPath());
    if (future == null || thrown != null) {
      Recorder.record("http", "client", ssl, "", 0, Recorder.literalIp(host), port, host, method, -1,
          StatusClass.SERVER_ERROR, false, start, -1, -1, "jdk-httpclient", thrown);
      return;
    }
    future.whenComplete(new HttpCompletion(ssl, Recorder.literalIp(host), port, host, method, start,
        "jdk-httpclient"));
  }
}
