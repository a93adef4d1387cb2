package io.demarc.agent.advice;

import io.demarc.agent.core.Handoff;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.remoting.exchange.ExchangeClient;

/**
 * Dubbo 2.7 consumer over the dubbo protocol, {@code DubboInvoker.doInvoke}: as
 * {@link DubboInvokerAdvice} for 3.3, from 2.7's {@code ExchangeClient[] clients} field (3.3 has a
 * ClientsProvider instead). With several connections per provider nothing is left.
 */
public final class DubboInvoker27Advice {
  private DubboInvoker27Advice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.FieldValue("clients") ExchangeClient[] clients) {
    if (clients.length == 1) Handoff.put(clients[0].getLocalAddress(), clients[0].getRemoteAddress());
  }
}
