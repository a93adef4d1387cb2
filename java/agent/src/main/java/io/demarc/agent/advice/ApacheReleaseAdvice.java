package io.demarc.agent.advice;

import io.demarc.agent.core.BodyWait;
import net.bytebuddy.asm.Advice;

/**
 * Apache HttpClient 5 classic, {@code InternalExecRuntime.releaseEndpoint/discardEndpoint}: the
 * connection goes back to the pool (entity consumed) or is dropped (response closed early,
 * aborted): the call keyed by this runtime ends.
 */
public final class ApacheReleaseAdvice {
  private ApacheReleaseAdvice() {}

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.This Object runtime) {
    BodyWait.end(runtime);
  }
}
