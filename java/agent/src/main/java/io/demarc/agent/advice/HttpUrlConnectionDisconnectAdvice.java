package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import io.demarc.agent.core.InFlight;
import net.bytebuddy.asm.Advice;

/** JDK HttpURLConnection.disconnect: the application is done with the call. */
public final class HttpUrlConnectionDisconnectAdvice {
  private HttpUrlConnectionDisconnectAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This Object self, @Advice.FieldValue("inputStream") Object in) {
    InFlight.end(self);
    BodyWait.end(in);
  }
}
