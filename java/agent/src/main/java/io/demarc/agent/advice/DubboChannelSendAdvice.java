package io.demarc.agent.advice;

import io.demarc.agent.core.ConnectionFacts;
import io.demarc.agent.core.Handoff;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.remoting.Channel;
import org.apache.dubbo.remoting.exchange.Request;

/**
 * Dubbo 2.7 and 3.x consumer over the dubbo protocol, {@code NettyChannel.send}: the connection
 * that really carries a request, on the caller's thread, left for {@link DubboConsumerAdvice} with
 * the invocation it carries (so a call that sent nothing never takes another's). One channel per
 * connection: its addresses are read and turned into text once ({@link ConnectionFacts}), where
 * asking the invoker's client for them walked four wrappers and two map lookups per call, and
 * knew nothing when a provider has several connections.
 */
public final class DubboChannelSendAdvice {
  private DubboChannelSendAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.This Channel self, @Advice.Argument(0) Object message) {
    // Responses (a provider's sends) and events (heartbeats) are not a consumer's calls.
    if (!(message instanceof Request) || ((Request) message).isEvent()) return;
    ConnectionFacts facts = ConnectionFacts.recent(self);
    if (facts == null) {
      facts = ConnectionFacts.remember(self, self.getLocalAddress(), self.getRemoteAddress(), false);
    }
    Handoff.leave(facts, ((Request) message).getData());
  }
}
