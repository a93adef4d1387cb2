package io.demarc.agent.advice;

import io.demarc.agent.core.DubboCompletion;
import io.demarc.agent.core.Recorder;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.BiConsumer;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.common.URL;
import org.apache.dubbo.remoting.exchange.ExchangeClient;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;
import org.apache.dubbo.rpc.protocol.dubbo.ClientsProvider;

/**
 * Dubbo 3 consumer over the dubbo protocol, {@code DubboInvoker.doInvoke}: like
 * {@link DubboConsumerAdvice}, but with the connection's real addresses. Dubbo may dial the
 * host's own address for a loopback URL, so the URL alone would not join the TCP probe's row.
 * With several connections per provider the one used is not known: the URL's address is used.
 */
public final class DubboInvokerAdvice {
  private DubboInvokerAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static long enter() {
    return Recorder.start();
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit(@Advice.Enter long start, @Advice.This Invoker<?> self,
      @Advice.FieldValue("clientsProvider") ClientsProvider clients, @Advice.Argument(0) Invocation inv,
      @Advice.Return Result result, @Advice.Thrown Throwable thrown) {
    if (start == 0) return;
    URL url = self.getUrl();
    InetSocketAddress local = null;
    InetSocketAddress remote = null;
    List<? extends ExchangeClient> list = clients.getClients();
    if (list.size() == 1) {
      local = list.get(0).getLocalAddress();
      remote = list.get(0).getRemoteAddress();
    }
    String service = inv.getServiceName() != null ? inv.getServiceName() : url.getServiceInterface();
    DubboCompletion done = new DubboCompletion("client", Recorder.ip(local), Recorder.port(local),
        remote != null ? Recorder.ip(remote) : Recorder.literalIp(url.getHost()),
        remote != null ? Recorder.port(remote) : url.getPort(), service, inv.getMethodName(), start, "dubbo-dubbo");
    if (thrown != null || result == null) {
      done.accept(null, thrown);
    } else {
      result.whenCompleteWithContext((BiConsumer) done);
    }
  }
}
