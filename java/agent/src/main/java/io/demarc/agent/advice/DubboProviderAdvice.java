package io.demarc.agent.advice;

import io.demarc.agent.core.ConnectionFacts;
import io.demarc.agent.core.DubboCompletion;
import io.demarc.agent.core.Recorder;
import java.util.concurrent.CompletableFuture;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.remoting.exchange.ExchangeChannel;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;

/**
 * Dubbo 3 provider, dubbo protocol: the protocol's request handler ({@code DubboProtocol}'s
 * {@code ExchangeHandlerAdapter}, {@code reply(ExchangeChannel, Object)}), which runs the
 * provider's whole filter chain and the service. Calls that a provider filter answers or fails
 * itself (never reaching the service implementation) are measured too. The consumer's address is
 * the channel's (the connection's); the call ends when the reply's future completes
 * (already at exit for a sync service: recorded there, without a callback object).
 */
public final class DubboProviderAdvice {
  private DubboProviderAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.Argument(0) ExchangeChannel channel,
      @Advice.Argument(1) Object message, @Advice.Return CompletableFuture<Object> future,
      @Advice.Thrown Throwable thrown) {
    if (start == 0 || !(message instanceof Invocation)) return;
    Invocation inv = (Invocation) message;
    Invoker<?> invoker = inv.getInvoker();
    String service = invoker != null && invoker.getInterface() != null ? invoker.getInterface().getName()
        : inv.getServiceName();
    // The channel is the connection's (one per connection): its addresses read once.
    ConnectionFacts conn = ConnectionFacts.recent(channel);
    if (conn == null) {
      conn = ConnectionFacts.remember(channel, channel.getLocalAddress(), channel.getRemoteAddress(), false);
    }
    // The request's size, as Dubbo's count codec noted it on the invocation.
    long received = Recorder.config().bytes()
        ? Recorder.parseLength(inv.getAttachment(DubboCompletion.REQUEST_BYTES)) : -1;
    String localIp = conn.localIp;
    int localPort = conn.localPort;
    String peerIp = conn.peerIp;
    int peerPort = conn.peerPort;
    if (thrown != null || future == null) {
      DubboCompletion.record("server", localIp, localPort, peerIp, peerPort, service, inv.getMethodName(), start,
          "dubbo-dubbo", received, null, thrown);
      return;
    }
    // A sync service has answered by now: recorded at once, no callback object; its Result read
    // here, typed (the core would need a method handle per call).
    if (future.isDone() && !future.isCompletedExceptionally()) {
      Object answer = future.getNow(null);
      DubboCompletion.recordOutcome("server", localIp, localPort, peerIp, peerPort, service, inv.getMethodName(),
          start, "dubbo-dubbo", received, answer instanceof Result && ((Result) answer).hasException()
              ? ((Result) answer).getException() : null);
      return;
    }
    if (DubboCompletion.recordIfDone(future, "server", localIp, localPort, peerIp, peerPort, service,
        inv.getMethodName(), start, "dubbo-dubbo", received)) {
      return;
    }
    future.whenComplete(new DubboCompletion("server", localIp, localPort, peerIp, peerPort, service,
        inv.getMethodName(), start, "dubbo-dubbo", received));
  }
}
