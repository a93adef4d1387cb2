package io.demarc.agent.advice;

import io.demarc.agent.core.ConnectionFacts;
import io.demarc.agent.core.DubboCompletion;
import io.demarc.agent.core.Handoff;
import io.demarc.agent.core.Recorder;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.rpc.AsyncRpcResult;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;

/**
 * Dubbo 3 consumer, {@code AbstractInvoker.invoke}, timed as the caller sees it: one remote invocation (after cluster, load
 * balancing and retries chose a provider, so the peer is the provider actually called). Sync
 * calls have completed at exit (Dubbo 3) and are recorded there; async ones (and Dubbo 2.7's, which
 * wait outside this method) complete later through the Result's callback.
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
    // The connection that sent this very invocation, when DubboChannelSendAdvice saw it (dubbo
    // protocol); else (triple, or nothing sent) the URL's host and port.
    Handoff left = Handoff.take();
    ConnectionFacts conn = left.factsFor == inv ? left.facts : null;
    left.clear();
    if (start == 0) return;
    URL url = self.getUrl();
    if ("injvm".equals(url.getProtocol())) return; // in-process: no network involved
    String service = inv.getServiceName() != null ? inv.getServiceName() : url.getServiceInterface();
    String localIp = conn != null ? conn.localIp : "";
    int localPort = conn != null ? conn.localPort : 0;
    String peerIp = conn != null ? conn.peerIp : Recorder.literalIp(url.getHost());
    int peerPort = conn != null ? conn.peerPort : url.getPort();
    String library = Recorder.dubboLibrary(url.getProtocol());
    if (thrown != null || result == null) {
      DubboCompletion.record("client", localIp, localPort, peerIp, peerPort, service, inv.getMethodName(), start,
          library, -1, null, thrown);
      return;
    }
    // Dubbo 3 sync calls have their answer by now: recorded at once, no callback object.
    CompletableFuture<?> answer = null;
    try {
      if (result instanceof AsyncRpcResult) answer = ((AsyncRpcResult) result).getResponseFuture();
    } catch (LinkageError e) {
      // a Dubbo without getResponseFuture (older than the tested 2.7.23): the callback below
    }
    // Its Result read here, typed (the core would need a method handle per call).
    if (answer != null && answer.isDone() && !answer.isCompletedExceptionally()) {
      Object done = answer.getNow(null);
      Result answered = done instanceof Result ? (Result) done : null;
      // The response's size, as Dubbo's count codec noted it on the AppResponse.
      long received = answered != null && Recorder.config().bytes()
          ? Recorder.parseLength(answered.getAttachment(DubboCompletion.RESPONSE_BYTES)) : -1;
      DubboCompletion.recordOutcome("client", localIp, localPort, peerIp, peerPort, service, inv.getMethodName(),
          start, library, received, answered != null && answered.hasException() ? answered.getException() : null);
      return;
    }
    if (DubboCompletion.recordIfDone(answer, "client", localIp, localPort, peerIp, peerPort,
        service, inv.getMethodName(), start, library, -1)) {
      return;
    }
    result.whenCompleteWithContext((BiConsumer) new DubboCompletion("client", localIp, localPort, peerIp, peerPort,
        service, inv.getMethodName(), start, library, -1));
  }
}
