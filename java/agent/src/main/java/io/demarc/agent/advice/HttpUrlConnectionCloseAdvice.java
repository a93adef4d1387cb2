package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import net.bytebuddy.asm.Advice;

/** JDK HttpURLConnection: closing the response stream ends the call waiting on it. */
public final class HttpUrlConnectionCloseAdvice {
  private HttpUrlConnectionCloseAdvice() {}

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.This Object stream) {
    BodyWait.end(stream);
  }
}
