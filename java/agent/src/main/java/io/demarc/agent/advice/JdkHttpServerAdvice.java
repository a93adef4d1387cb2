package io.demarc.agent.advice;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsExchange;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import java.net.InetSocketAddress;
import net.bytebuddy.asm.Advice;

/**
 * JDK com.sun.net.httpserver, on {@code ServerImpl$Exchange$LinkHandler.handle}: the one handler
 * between the user's filters and the context's handler, called once per exchange (user handlers
 * are often lambdas, which cannot be retransformed).
 */
public final class JdkHttpServerAdvice {
  private JdkHttpServerAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.Argument(0) HttpExchange ex,
      @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    int status = ex.getResponseCode();
    InetSocketAddress local = ex.getLocalAddress();
    InetSocketAddress remote = ex.getRemoteAddress();
    Recorder.record("http", "server", ex instanceof HttpsExchange, Recorder.ip(local), Recorder.port(local),
        Recorder.ip(remote), Recorder.port(remote), "",
        Recorder.httpMethod(ex.getRequestMethod(), ex.getHttpContext().getPath()), status,
        StatusClass.http(status), status > 0, start,
        Recorder.parseLength(ex.getResponseHeaders().getFirst("Content-length")),
        Recorder.parseLength(ex.getRequestHeaders().getFirst("Content-length")), "jdk-httpserver", thrown);
  }
}
