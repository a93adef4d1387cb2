package io.demarc.agent.core;

/**
 * A reusable, per-thread stand-in for a {@link RowKey}: filled with one call's fields, it finds
 * that call's row in the aggregator's map without allocating a key per call. It hashes like a
 * RowKey and equals a RowKey with the same fields ({@code Map.get(k)} matches entries by
 * {@code k.equals(entry)}, so the map's RowKeys are found); it is never stored in a map itself:
 * a new row gets a real key from {@link #toKey}.
 */
final class RowKeyProbe {
  private static final ThreadLocal<RowKeyProbe> CURRENT = ThreadLocal.withInitial(RowKeyProbe::new);

  String protocol;
  String role;
  boolean ssl;
  String localIp;
  int localPort;
  String peerIp;
  int peerPort;
  String service;
  String method;
  String statusClass;
  String library;
  private int hash;
  /** Set while a record uses this probe, so a nested record on the same thread gets its own. */
  private boolean inUse;

  /** This thread's probe, or a fresh one when this thread's is busy (a nested record). */
  static RowKeyProbe acquire() {
    RowKeyProbe p = CURRENT.get();
    if (p.inUse) return new RowKeyProbe();
    p.inUse = true;
    return p;
  }

  /**
   * Done with this call. The strings are dropped too: a thread's probe outlives the agent's detach
   * (the recorder stays on the boot class path), and must not keep the application's service and
   * method names reachable for the thread's lifetime.
   */
  void release() {
    protocol = role = localIp = peerIp = service = method = statusClass = library = null;
    inUse = false;
  }

  RowKeyProbe set(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp,
      int peerPort, String service, String method, String statusClass, String library) {
    this.protocol = protocol;
    this.role = role;
    this.ssl = ssl;
    this.localIp = localIp;
    this.localPort = localPort;
    this.peerIp = peerIp;
    this.peerPort = peerPort;
    this.service = service;
    this.method = method;
    this.statusClass = statusClass;
    this.library = library;
    this.hash = RowKey.hash(protocol, role, ssl, localIp, localPort, peerIp, peerPort, service, method, statusClass,
        library);
    return this;
  }

  RowKey toKey() {
    return new RowKey(protocol, role, ssl, localIp, localPort, peerIp, peerPort, service, method, statusClass,
        library);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RowKey k && ssl == k.ssl() && localPort == k.localPort() && peerPort == k.peerPort()
        && method.equals(k.method()) && service.equals(k.service()) && peerIp.equals(k.peerIp())
        && localIp.equals(k.localIp()) && statusClass.equals(k.statusClass()) && role.equals(k.role())
        && protocol.equals(k.protocol()) && library.equals(k.library());
  }
}
