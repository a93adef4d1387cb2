package io.demarc.agent.advice;

import io.demarc.agent.core.DubboCompletion;
import io.demarc.agent.core.Recorder;
import java.util.function.BiConsumer;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;

/**
 * Dubbo 3 consumer of protocols other than dubbo (triple...), {@code AbstractInvoker.invoke}: one remote invocation (after cluster, load
 * balancing and retries chose a provider, so the peer is the provider actually called). Sync
 * calls have completed at exit; async ones complete later through the Result's callback.
 */
public final class DubboConsumerAdvice {
  private DubboConsumerAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This Invoker<?> self, @Advice.Argument(0) Invocation inv,
      @Advice.Return Result result, @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    URL url = self.getUrl();
    if ("injvm".equals(url.getProtocol())) return; // in-process: no network involved
    // The dubbo protocol's invoker is measured by DubboInvokerAdvice, with socket addresses.
    if (self.getClass().getName().equals("org.apache.dubbo.rpc.protocol.dubbo.DubboInvoker")) return;
    String service = inv.getServiceName() != null ? inv.getServiceName() : url.getServiceInterface();
    DubboCompletion done = new DubboCompletion("client", "", 0, Recorder.literalIp(url.getHost()), url.getPort(),
        service, inv.getMethodName(), start, "dubbo-" + url.getProtocol());
    if (thrown != null || result == null) {
      done.accept(null, thrown);
    } else {
      result.whenCompleteWithContext((BiConsumer) done);
    }
  }
}
