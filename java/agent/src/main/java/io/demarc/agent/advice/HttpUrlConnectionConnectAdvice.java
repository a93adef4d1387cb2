package io.demarc.agent.advice;

import io.demarc.agent.core.InFlight;
import net.bytebuddy.asm.Advice;

/**
 * JDK HttpURLConnection.plainConnect (behind connect, getOutputStream and getInputStream, HTTPS
 * included): the first connect of an exchange is when its call starts, so sending the request is
 * part of it. getInputStream's advice takes (and forgets) the start; disconnect forgets it too.
 */
public final class HttpUrlConnectionConnectAdvice {
  private HttpUrlConnectionConnectAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This Object self, @Advice.FieldValue("connected") boolean connected) {
    if (!connected) InFlight.beginOnce(self);
  }
}
