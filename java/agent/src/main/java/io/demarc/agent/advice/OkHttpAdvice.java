package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import io.demarc.agent.core.MethodLabels;
import io.demarc.agent.core.Recorder;
import io.demarc.agent.core.StatusClass;
import net.bytebuddy.asm.Advice;
import okhttp3.Call;
import okhttp3.HttpUrl;
import okhttp3.Request;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * OkHttp 4/5, on {@code RealCall.getResponseWithInterceptorChain$okhttp}: the one method that
 * both execute() and enqueue() run, so async calls are measured without their queueing time.
 * With the head in, the call waits in {@link BodyWait} until the body is read to its end or
 * closed ({@link OkHttpBodyDoneAdvice}); it is recorded at once when there is no body left to
 * read (none, empty, or already consumed inside the interceptor chain).
 */
public final class OkHttpAdvice {
  private OkHttpAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This Call call, @Advice.Return Response response,
      @Advice.FieldValue("responseBodyOpen") boolean bodyOpen, @Advice.Thrown Throwable thrown)
      throws java.io.IOException {
    if (start == 0) return;
    Request req = call.request();
    HttpUrl url = req.url();
    int status = response == null ? -1 : response.code();
    ResponseBody body = response == null ? null : response.body();
    long received = body == null ? -1 : body.contentLength();
    String whole = url.toString(); // OkHttp's field: no text made per call, unlike encodedPath()
    MethodLabels.ClientUrl u = Recorder.recentClientUrl(req.method(), whole);
    if (u == null) u = Recorder.clientUrl(req.method(), whole, url.encodedPath(), url.host());
    String ip = u.peerIp();
    String method = u.label();
    long sent = req.body() == null ? 0 : req.body().contentLength();
    if (response == null || thrown != null || !bodyOpen || received == 0) {
      Recorder.record("http", "client", url.isHttps(), "", 0, ip, url.port(), url.host(), method, status,
          StatusClass.http(status), response != null, start, sent, received, "okhttp", thrown);
      return;
    }
    BodyWait.awaitOnce(call, url.isHttps(), ip, url.port(), url.host(), method, status, start, sent, received, "okhttp");
  }
}
