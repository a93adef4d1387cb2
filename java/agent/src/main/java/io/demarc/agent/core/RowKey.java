package io.demarc.agent.core;

/**
 * What one aggregate row is about (PROTOCOL.md Row, minus the numbers). Its hash is spelled out
 * ({@link #hash}) so that {@link RowKeyProbe} can find a row without building a RowKey per call.
 */
public record RowKey(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp,
    int peerPort, String service, String method, String statusClass, String library) {

  /** Where calls go once the cardinality cap is reached. */
  public static final RowKey OVERFLOW = new RowKey("overflow", "overflow", false, "", 0, "", 0, "overflow", "overflow",
      "ok", "overflow");

  @Override
  public int hashCode() {
    return hash(protocol, role, ssl, localIp, localPort, peerIp, peerPort, service, method, statusClass, library);
  }

  /**
   * Whether this key has these fields (the fields most likely to differ between two rows of one
   * thread are compared first; equal strings are mostly the same instance, which equals checks
   * before their contents).
   */
  boolean matches(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp,
      int peerPort, String service, String method, String statusClass, String library) {
    return this.localPort == localPort && this.peerPort == peerPort && this.ssl == ssl
        && this.method.equals(method) && this.service.equals(service) && this.statusClass.equals(statusClass)
        && this.peerIp.equals(peerIp) && this.localIp.equals(localIp) && this.library.equals(library)
        && this.role.equals(role) && this.protocol.equals(protocol);
  }

  /** The hash of a key with these fields (Strings cache their own hash, so this is cheap). */
  static int hash(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp,
      int peerPort, String service, String method, String statusClass, String library) {
    int h = protocol.hashCode();
    h = 31 * h + role.hashCode();
    h = 31 * h + (ssl ? 1 : 0);
    h = 31 * h + localIp.hashCode();
    h = 31 * h + localPort;
    h = 31 * h + peerIp.hashCode();
    h = 31 * h + peerPort;
    h = 31 * h + service.hashCode();
    h = 31 * h + method.hashCode();
    h = 31 * h + statusClass.hashCode();
    return 31 * h + library.hashCode();
  }
}
