package io.demarc.agent.core;

/** What one aggregate row is about (PROTOCOL.md Row, minus the numbers). */
public record RowKey(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp,
    int peerPort, String service, String method, String statusClass, String library) {

  /** Where calls go once the cardinality cap is reached. */
  public static final RowKey OVERFLOW = new RowKey("overflow", "overflow", false, "", 0, "", 0, "overflow", "overflow",
      "ok", "overflow");
}
