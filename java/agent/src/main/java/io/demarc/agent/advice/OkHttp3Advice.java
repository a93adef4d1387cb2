package io.demarc.agent.advice;

import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import net.bytebuddy.asm.Advice;
import okhttp3.Call;
import okhttp3.HttpUrl;
import okhttp3.Request;
import okhttp3.Response;

/**
 * OkHttp 3.x ({@code okhttp3.RealCall.getResponseWithInterceptorChain}, untested): the call ends
 * when the response head is in. OkHttp 4 and 5 are measured to the end of the body by
 * {@link OkHttpAdvice}.
 */
public final class OkHttp3Advice {
  private OkHttp3Advice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This Call call, @Advice.Return Response response,
      @Advice.Thrown Throwable thrown) throws java.io.IOException {
    if (start == 0) return;
    Request req = call.request();
    HttpUrl url = req.url();
    int status = response == null ? -1 : response.code();
    Recorder.record("http", "client", url.isHttps(), "", 0, Recorder.literalIp(url.host()), url.port(), url.host(),
        Recorder.httpMethod(req.method(), url.encodedPath()), status, StatusClass.http(status), response != null,
        start, req.body() == null ? 0 : req.body().contentLength(),
        response == null || response.body() == null ? -1 : response.body().contentLength(), "okhttp", thrown);
  }
}
