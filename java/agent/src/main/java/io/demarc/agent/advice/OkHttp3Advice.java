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
 * OkHttp 3.x, on {@code okhttp3.RealCall.getResponseWithInterceptorChain} (run by execute() and
 * enqueue() alike). As for OkHttp 4/5, the call lasts until the response body is read to its end
 * or closed: it waits in {@link BodyWait}, keyed by the call's {@code Transmitter}, which
 * {@link OkHttp3BodyDoneAdvice} ends. When the Transmitter holds no exchange any more at exit, the
 * body was consumed inside the chain (or there was none) and the call is recorded at once. The
 * advice is compiled against OkHttp 4, whose public API has the same descriptors; the Transmitter
 * (an OkHttp 3.14 internal class) is only reached by name, through
 * {@link Recorder#okHttp3BodyOpen}: code inlined into the library may only name its own types, the
 * JDK's and the agent's core (boot class path), not the advice class, which the application's
 * class loader may not see. {@code hasExchange()} (public, of a public class) tells whether the
 * exchange's body is still open.
 */
public final class OkHttp3Advice {
  private OkHttp3Advice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This Call call, @Advice.Return Response response,
      @Advice.FieldValue("transmitter") Object transmitter, @Advice.Thrown Throwable thrown)
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
    boolean bodyOpen = false;
    if (response != null && thrown == null && received != 0) {
      bodyOpen = Recorder.okHttp3BodyOpen(transmitter); // false when unknown: recorded at its head, not lost
    }
    if (!bodyOpen) {
      Recorder.record("http", "client", url.isHttps(), "", 0, ip, url.port(), url.host(), method, status,
          StatusClass.http(status), response != null, start, sent, received, "okhttp3", thrown);
      return;
    }
    BodyWait.awaitOnce(transmitter, url.isHttps(), ip, url.port(), url.host(), method, status, start, sent, received,
        "okhttp3");
  }
}
