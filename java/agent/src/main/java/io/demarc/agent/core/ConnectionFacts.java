package io.demarc.agent.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketAddress;

/**
 * A connection's row fields (addresses as text, ports, TLS), remembered per library object that
 * stands for one connection and never changes its addresses (gRPC's transport {@code Attributes},
 * a Dubbo provider's channel). Every call on a connection would otherwise read the same addresses
 * again through the library's getters and maps, and turn them into text: a few lookups that are
 * cache misses in a JVM sharing its CPU. Here a call costs one identity compare.
 *
 * <p>A small table of immutable entries, one slot per object's identity hash (objects sharing a
 * slot take turns in it; a new one costs one entry). Entries hold the library's object, so they are
 * dropped when the recorder goes inactive (detach): nothing of the application stays reachable
 * from the boot class path.
 */
public final class ConnectionFacts {
  private static final int SLOTS = 64;
  private static final Object[] TABLE = new Object[SLOTS];
  private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Object[].class);

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

  private static int slot(Object connection) {
    int h = System.identityHashCode(connection) * 0x9E3779B9;
    return h >>> 26; // the top 6 bits: 64 slots
  }

  /** The facts remembered for {@code connection}, or null (then call {@link #remember}). */
  public static ConnectionFacts recent(Object connection) {
    if (connection == null) return null;
    Object o = SLOT.getAcquire(TABLE, slot(connection)); // typed Object: an exact VarHandle call
    return o instanceof ConnectionFacts f && f.connection == connection ? f : null;
  }

  /**
   * The facts of {@code connection} from its addresses, remembered for its next call while the
   * recorder is active.
   */
  public static ConnectionFacts remember(Object connection, SocketAddress local, SocketAddress remote,
      boolean ssl) {
    ConnectionFacts f = new ConnectionFacts(connection, Recorder.ip(local), Recorder.port(local), Recorder.ip(remote),
        Recorder.port(remote), ssl);
    if (connection == null) return f;
    int slot = slot(connection);
    SLOT.setVolatile(TABLE, slot, (Object) f);
    // Raced with a detach that cleared the table before this store: clear it again. (Either this
    // thread sees the recorder off here, or the clearing came after the store: both volatile.)
    if (!Recorder.active()) SLOT.compareAndSet(TABLE, slot, (Object) f, (Object) null);
    return f;
  }

  /** Forgets every connection (the recorder went inactive). */
  static void clear() {
    for (int i = 0; i < SLOTS; i++) SLOT.setVolatile(TABLE, i, (Object) null);
  }

  /** How many connections are remembered (tests). */
  static int size() {
    int n = 0;
    for (int i = 0; i < SLOTS; i++) if (SLOT.getVolatile(TABLE, i) != null) n++;
    return n;
  }
}
