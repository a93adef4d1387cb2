package io.demarc.agent.advice;

import io.demarc.agent.core.DubboCompletion;
import io.demarc.agent.core.Recorder;
import java.net.InetSocketAddress;
import java.util.function.BiConsumer;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;
import org.apache.dubbo.rpc.RpcContext;
import org.apache.dubbo.rpc.RpcServiceContext;

/**
 * Dubbo 3 provider, {@code AbstractProxyInvoker.invoke}: the call into the service
 * implementation, with the consumer's address from the service context of the serving thread
 * (Dubbo fills it from the connection, so it is the socket's address).
 */
public final class DubboProviderAdvice {
  private DubboProviderAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This Invoker<?> self, @Advice.Argument(0) Invocation inv,
      @Advice.Return Result result, @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    RpcServiceContext ctx = RpcContext.getServiceContext();
    InetSocketAddress remote = ctx.getRemoteAddress();
    String protocol = ctx.getUrl() != null ? ctx.getUrl().getProtocol() : "dubbo";
    if ("injvm".equals(protocol)) return;
    DubboCompletion done = new DubboCompletion("server", ctx.getLocalHost(), ctx.getLocalPort(), Recorder.ip(remote),
        Recorder.port(remote), self.getInterface().getName(), inv.getMethodName(), start, "dubbo-" + protocol);
    if (thrown != null || result == null) {
      done.accept(null, thrown);
    } else {
      result.whenCompleteWithContext((BiConsumer) done);
    }
  }
}
