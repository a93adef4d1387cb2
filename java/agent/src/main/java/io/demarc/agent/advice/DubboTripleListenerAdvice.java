package io.demarc.agent.advice;

import io.demarc.agent.core.Handoff;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import net.bytebuddy.asm.Advice;
import org.apache.dubbo.remoting.http12.AbstractServerHttpChannelObserver;
import org.apache.dubbo.remoting.http12.HttpChannel;

/**
 * Dubbo 3.3 triple provider, {@code h12.AbstractServerCallListener.invoke()}: the call's HTTP/2
 * stream knows the connection; its local and peer address are left (same thread) for
 * {@link DubboTripleProviderAdvice} at the head of the filter chain this method invokes.
 */
public final class DubboTripleListenerAdvice {
  private DubboTripleListenerAdvice() {}

  @Advice.OnMethodEnter(suppress = Throwable.class)
  public static void enter(@Advice.FieldValue("responseObserver") Object observer) {
    if (!(observer instanceof AbstractServerHttpChannelObserver)) return;
    HttpChannel channel = ((AbstractServerHttpChannelObserver<?>) observer).getHttpChannel();
    SocketAddress local = channel.localAddress();
    SocketAddress remote = channel.remoteAddress();
    Handoff.put(local instanceof InetSocketAddress ? (InetSocketAddress) local : null,
        remote instanceof InetSocketAddress ? (InetSocketAddress) remote : null);
  }

  @Advice.OnMethodExit(onThrowable = Throwable.class, suppress = Throwable.class)
  public static void exit() {
    Handoff.take().clear(); // nothing left behind when the chain head did not take it
  }
}
