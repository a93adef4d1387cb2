package io.demarc.agent.advice;

import io.demarc.agent.core.DubboCompletion;
import io.demarc.agent.core.Handoff;
import io.demarc.agent.core.Recorder;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.rpc.AsyncRpcResult;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;

/**
 * Dubbo 3 provider over the triple protocol: the head of the provider's filter chain
 * ({@code FilterChainBuilder$CallbackRegistrationInvoker.invoke}), which the triple server's call
 * listener invokes for each call, so calls a filter answers or fails itself are counted. The same
 * class heads consumer chains and dubbo-protocol provider chains: only provider-side chains of
 * the {@code tri} protocol are measured here (the dubbo protocol has {@link DubboProviderAdvice}).
 * The connection's addresses come from {@link DubboTripleListenerAdvice} (the call's HTTP/2
 * stream), else the local one is the provider URL's. The call ends when its Result completes.
 */
public final class DubboTripleProviderAdvice {
  private DubboTripleProviderAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter(@Advice.This Invoker<?> self, @Advice.Local("local") InetSocketAddress local,
      @Advice.Local("remote") InetSocketAddress remote) {
    URL url = self.getUrl();
    if (!"tri".equals(url.getProtocol()) || !"provider".equals(url.getParameter("side"))) return 0;
    Handoff conn = Handoff.take(); // the stream's addresses, when DubboTripleListenerAdvice left them
    local = conn.local;
    remote = conn.remote;
    conn.clear();
    return Recorder.start();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This Invoker<?> self, @Advice.Argument(0) Invocation inv,
      @Advice.Local("local") InetSocketAddress local, @Advice.Local("remote") InetSocketAddress remote,
      @Advice.Return Result result, @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    URL url = self.getUrl();
    String service = self.getInterface() != null ? self.getInterface().getName() : inv.getServiceName();
    String localIp = local != null ? Recorder.ip(local) : Recorder.literalIp(url.getHost());
    int localPort = local != null ? Recorder.port(local) : url.getPort();
    String peerIp = Recorder.ip(remote);
    int peerPort = Recorder.port(remote);
    if (thrown != null || result == null) {
      DubboCompletion.record("server", localIp, localPort, peerIp, peerPort, service, inv.getMethodName(), start,
          "dubbo-tri", -1, null, thrown);
      return;
    }
    // A sync service has answered by now: recorded at once, no callback object.
    CompletableFuture<?> answer = null;
    try {
      if (result instanceof AsyncRpcResult) answer = ((AsyncRpcResult) result).getResponseFuture();
    } catch (LinkageError e) {
      // a Dubbo without getResponseFuture: the callback below
    }
    // Its Result read here, typed (the core would need a method handle per call).
    if (answer != null && answer.isDone() && !answer.isCompletedExceptionally()) {
      Object done = answer.getNow(null);
      DubboCompletion.recordOutcome("server", localIp, localPort, peerIp, peerPort, service, inv.getMethodName(),
          start, "dubbo-tri", -1, done instanceof Result && ((Result) done).hasException()
              ? ((Result) done).getException() : null);
      return;
    }
    if (DubboCompletion.recordIfDone(answer, "server", localIp, localPort, peerIp, peerPort,
        service, inv.getMethodName(), start, "dubbo-tri", -1)) {
      return;
    }
    result.whenCompleteWithContext((BiConsumer) new DubboCompletion("server", localIp, localPort, peerIp, peerPort,
        service, inv.getMethodName(), start, "dubbo-tri", -1));
  }
}
