package io.demarc.agent.advice;

import io.demarc.agent.core.DubboCompletion;
import io.demarc.agent.core.Handoff;
import java.net.InetSocketAddress;
import io.demarc.agent.core.Recorder;
import java.util.function.BiConsumer;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;

/**
 * Dubbo 3 consumer, {@code AbstractInvoker.invoke}, timed as the caller sees it: one remote invocation (after cluster, load
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
    Handoff conn = Handoff.take(); // the connection's addresses, when DubboInvokerAdvice left them
    InetSocketAddress local = conn.local;
    InetSocketAddress remote = conn.remote;
    conn.clear();
    if (start == 0) return;
    URL url = self.getUrl();
    if ("injvm".equals(url.getProtocol())) return; // in-process: no network involved
    String service = inv.getServiceName() != null ? inv.getServiceName() : url.getServiceInterface();
    DubboCompletion done = new DubboCompletion("client", Recorder.ip(local), Recorder.port(local),
        remote != null ? Recorder.ip(remote) : Recorder.literalIp(url.getHost()),
        remote != null ? Recorder.port(remote) : url.getPort(), service, inv.getMethodName(), start,
        Recorder.dubboLibrary(url.getProtocol()));
    if (thrown != null || result == null) {
      done.accept(null, thrown);
    } else {
      result.whenCompleteWithContext((BiConsumer) done);
    }
  }
}
