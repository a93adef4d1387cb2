package io.demarc.agent.core;

import java.net.InetSocketAddress;

/**
 * Passes a connection's addresses from an inner method to the advice of an outer one on the same
 * thread (Dubbo: the channel's send knows the connection, AbstractInvoker.invoke knows when the
 * caller got its answer). One reusable holder per thread, cleared when taken.
 */
public final class Handoff {
  private static final ThreadLocal<Handoff> CURRENT = ThreadLocal.withInitial(Handoff::new);

  public InetSocketAddress local;
  public InetSocketAddress remote;
  /** Dubbo: the connection that sent {@link #factsFor} (an invocation), for its consumer advice. */
  public ConnectionFacts facts;
  public Object factsFor;
  /** Apache HttpClient 5: the exec runtime made by the doExecute running on this thread. */
  public Object runtime;
  /**
   * JDK HttpClient: a blocking send on this thread measures its call; the sendAsync it runs
   * inside takes (clears) this and leaves the call alone. The other way round from the fields above.
   */
  public boolean jdkSend;

  private Handoff() {}

  public static void put(InetSocketAddress local, InetSocketAddress remote) {
    Handoff h = CURRENT.get();
    h.local = local;
    h.remote = remote;
  }

  public static void leave(ConnectionFacts facts, Object factsFor) {
    Handoff h = CURRENT.get();
    h.facts = facts;
    h.factsFor = factsFor;
  }

  /** The addresses left by the inner method (fields null when none); call clear() after reading. */
  public static Handoff take() {
    Handoff h = CURRENT.get();
    return h;
  }

  public void clear() {
    local = null;
    remote = null;
    facts = null;
    factsFor = null;
  }
}
