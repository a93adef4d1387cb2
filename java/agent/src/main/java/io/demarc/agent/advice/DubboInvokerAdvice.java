package io.demarc.agent.advice;

import io.demarc.agent.core.Handoff;
import java.util.List;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.remoting.exchange.ExchangeClient;
import org.apache.dubbo.rpc.protocol.dubbo.ClientsProvider;

/**
 * Dubbo 3 consumer over the dubbo protocol, {@code DubboInvoker.doInvoke}: leaves the
 * connection's real addresses for {@link DubboConsumerAdvice} (Dubbo may dial the host's own
 * address for a loopback URL, so the URL alone would not join the TCP probe's row). With several
 * connections per provider the one used is not known, and nothing is left.
 */
public final class DubboInvokerAdvice {
  private DubboInvokerAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.FieldValue("clientsProvider") ClientsProvider clients) {
    List<? extends ExchangeClient> list = clients.getClients();
    if (list.size() == 1) Handoff.put(list.get(0).getLocalAddress(), list.get(0).getRemoteAddress());
  }
}
