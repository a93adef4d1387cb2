package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import net.bytebuddy.asm.Advice;

/**
 * OkHttp 3.x, {@code okhttp3.internal.connection.Transmitter.exchangeMessageDone}: an exchange
 * reports its request or response body done (read to the end, closed, or failed). Once the
 * response side is done, the call waiting under this Transmitter ends.
 */
public final class OkHttp3BodyDoneAdvice {
  private OkHttp3BodyDoneAdvice() {}

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.This Object transmitter,
      @Advice.FieldValue("exchangeResponseDone") boolean responseDone) {
    if (responseDone) BodyWait.end(transmitter);
  }
}
