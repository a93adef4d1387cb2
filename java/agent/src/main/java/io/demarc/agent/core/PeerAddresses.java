package io.demarc.agent.core;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Fills the addresses advice could not know cheaply, on the reporter thread at flush time (never
 * on an application thread): the IP a client's host name stands for, and the local IP the kernel
 * routes from towards a peer. Results are cached for {@link #TTL_MS}; the cache is bounded (past
 * {@link #MAX_ENTRIES}, unknown names stay unresolved rather than growing memory).
 *
 * <p>The host name goes through {@link InetAddress#getByName}, i.e. the JVM's own resolver and
 * its cache, which is warm because the application has just connected to that host; the first
 * address is the one the JDK clients connect to first. A name that does not resolve is cached as
 * unresolved (empty) too, so a dead name costs one lookup per TTL, not one per flush.
 */
public final class PeerAddresses {
  static final long TTL_MS = 30_000;
  static final int MAX_ENTRIES = 1024;

  /** The process-wide instance the aggregator and span buffer use. */
  public static final PeerAddresses SHARED = new PeerAddresses();

  private record Entry(String value, long expiresMs) {}

  private final ConcurrentHashMap<String, Entry> hostIps = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Entry> localIps = new ConcurrentHashMap<>();

  /** The IP text of {@code host} (an IP literal is returned as it is), or "" when unknown. */
  public String ipOf(String host) {
    if (host == null || host.isEmpty()) return "";
    String literal = Recorder.literalIp(host);
    if (!literal.isEmpty()) return literal;
    return cached(hostIps, host, () -> Recorder.ipText(InetAddress.getByName(host)));
  }

  /**
   * The local IP a connection to {@code peerIp} gets from the kernel's routing (a connected UDP
   * socket: a route lookup, no packet sent), or "" when there is no route. Correct unless the
   * application binds its client sockets to a chosen address, which the HTTP clients here do not.
   */
  public String localIpFor(String peerIp) {
    if (peerIp == null || peerIp.isEmpty()) return "";
    return cached(localIps, peerIp, () -> {
      InetAddress peer = InetAddress.getByName(peerIp); // a literal: no DNS
      try (DatagramSocket s = new DatagramSocket()) {
        s.connect(new InetSocketAddress(peer, 9));
        InetAddress local = s.getLocalAddress();
        return local == null || local.isAnyLocalAddress() ? "" : Recorder.ipText(local);
      }
    });
  }

  private interface Lookup {
    String get() throws Exception;
  }

  private static String cached(ConcurrentHashMap<String, Entry> cache, String key, Lookup lookup) {
    long now = System.currentTimeMillis();
    Entry e = cache.get(key);
    if (e != null && e.expiresMs() > now) return e.value();
    if (e == null && cache.size() >= MAX_ENTRIES) {
      cache.entrySet().removeIf(x -> x.getValue().expiresMs() <= now);
      if (cache.size() >= MAX_ENTRIES) return "";
    }
    String value;
    try {
      value = lookup.get();
    } catch (Exception ex) {
      value = ""; // unknown host or no route: the row keeps an empty address
    }
    cache.put(key, new Entry(value, now + TTL_MS));
    return value;
  }

  /** How many names and peers are cached (tests check the bound). */
  int size() {
    return hostIps.size() + localIps.size();
  }
}
