package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import net.bytebuddy.asm.Advice;

/**
 * OkHttp 4/5, {@code RealCall.messageDone$okhttp}: the exchange reports its request or response
 * body done (read to the end, closed, or failed). Once the response body is no longer open, the
 * call's measurement ends.
 */
public final class OkHttpBodyDoneAdvice {
  private OkHttpBodyDoneAdvice() {}

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.This Object call, @Advice.FieldValue("responseBodyOpen") boolean bodyOpen) {
    if (!bodyOpen) BodyWait.end(call);
  }
}
