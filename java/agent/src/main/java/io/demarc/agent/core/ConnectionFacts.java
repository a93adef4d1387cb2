package io.demarc.agent.core;

import java.net.SocketAddress;

/**
 * A connection's row fields (addresses as text, ports, TLS), remembered per library object that
 * stands for one connection and never changes its addresses (gRPC's transport {@code Attributes},
 * a Dubbo provider's channel). Every call on a connection would otherwise read the same addresses
 * again through the library's getters and maps, and turn them into text: a few lookups that are
 * cache misses in a JVM sharing its CPU. Here a call costs one identity compare.
 *
 * <p>Immutable entries in a {@link SlotCache} of 64 slots (a new one costs one entry). Entries hold
 * the library's object, so they are dropped when the recorder goes inactive (detach): nothing of
 * the application stays reachable from the boot class path.
 */
public final class ConnectionFacts {
  private static final SlotCache CACHE = new SlotCache(6);

  /** The library's object these facts belong to (compared by identity). */
  private final Object connection;
  public final String localIp;
  public final int localPort;
  public final String peerIp;
  public final int peerPort;
  public final boolean ssl;

  private ConnectionFacts(Object connection, String localIp, int localPort, String peerIp, int peerPort,
      boolean ssl) {
    this.connection = connection;
    this.localIp = localIp;
    this.localPort = localPort;
    this.peerIp = peerIp;
    this.peerPort = peerPort;
    this.ssl = ssl;
  }

  /**
   * The facts remembered for {@code connection}, or null (then call {@link #remember}). The
   * thread's last connection first ({@link ThreadRecent}: a thread mostly calls over one), which
   * reads neither the connection's header for its identity hash nor the cache's slot.
   */
  public static ConnectionFacts recent(Object connection) {
    if (connection == null) return null;
    int block = ThreadRecent.block();
    if (ThreadRecent.get(block, ThreadRecent.FACTS) instanceof ConnectionFacts last && last.connection == connection) {
      return last;
    }
    Object o = CACHE.at(connection);
    if (o instanceof ConnectionFacts f && f.connection == connection) {
      ThreadRecent.putChecked(block, ThreadRecent.FACTS, f);
      return f;
    }
    return null;
  }

  /**
   * The facts of {@code connection} from its addresses, remembered for its next call while the
   * recorder is active.
   */
  public static ConnectionFacts remember(Object connection, SocketAddress local, SocketAddress remote,
      boolean ssl) {
    ConnectionFacts f = new ConnectionFacts(connection, Recorder.ip(local), Recorder.port(local), Recorder.ip(remote),
        Recorder.port(remote), ssl);
    if (connection != null) {
      CACHE.put(connection, f);
      ThreadRecent.putChecked(ThreadRecent.block(), ThreadRecent.FACTS, f);
    }
    return f;
  }

  /** Forgets every connection (the recorder went inactive). */
  static void clear() {
    CACHE.clear();
  }

  /** How many connections are remembered (tests). */
  static int size() {
    return CACHE.size();
  }
}
