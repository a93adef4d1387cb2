package io.demarc.agent.advice;

import io.demarc.agent.core.Handoff;
import io.demarc.agent.core.Recorder;
import net.bytebuddy.asm.Advice;

/**
 * Apache HttpClient 5 classic, {@code InternalExecRuntime}'s constructor: doExecute makes one per
 * call on the caller's thread; it is left for {@link ApacheHttpClient5Advice} to key the call by.
 */
public final class ApacheExecRuntimeAdvice {
  private ApacheExecRuntimeAdvice() {}

  @Advice.OnMethodExit(suppress = Throwable.class)
  public static void exit(@Advice.This Object runtime) {
    if (!Recorder.active()) return;
    Handoff h = Handoff.take();
    if (h.runtime == null) h.runtime = runtime; // the first of a doExecute (not a fork)
  }
}
