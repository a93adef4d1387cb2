package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import net.bytebuddy.asm.Advice;

/**
 * OkHttp 4/5, {@code RealCall.messageDone$okhttp}: the exchange reports its request or response
 * body done (read to the end, closed, or failed). Once the response body is no longer open, the
 * call's measurement ends. Its third argument, {@code responseDone}, is the same in 4.x
 * ({@code exchange, requestDone, responseDone, e}) and 5.x (two socket flags before {@code e}).
 */
public final class OkHttpBodyDoneAdvice {
  private OkHttpBodyDoneAdvice() {}

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.This Object call, @Advice.Argument(2) boolean responseDone,
      @Advice.FieldValue("responseBodyOpen") boolean bodyOpen) {
    if (responseDone && !bodyOpen) BodyWait.end(call); // the request body's done is no response's end
  }
}
