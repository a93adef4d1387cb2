package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import net.bytebuddy.asm.Advice;

/**
 * JDK HttpURLConnection's response stream ({@code HttpURLConnection$HttpInputStream}, the stream
 * getInputStream and getErrorStream hand out): a read that reaches the end of the body ends the
 * call waiting on this stream. Only looks at what the method returned; the stream itself is not replaced.
 */
public final class HttpUrlConnectionBodyAdvice {
  private HttpUrlConnectionBodyAdvice() {}

  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(@Advice.Return int n, @Advice.This Object stream) {
    if (n < 0) BodyWait.end(stream);
  }
}
