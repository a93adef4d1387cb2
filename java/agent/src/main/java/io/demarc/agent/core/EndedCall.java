package io.demarc.agent.core;

/**
 * One ended call, as queued for its row ({@link CallQueue}): the row's fields as
 * {@link Aggregator#add(String, String, boolean, String, int, String, int, String, String, String, String, long,
 * boolean, long, long)} takes them, and the call's numbers.
 */
record EndedCall(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp,
    int peerPort, String service, String method, String statusClass, String library, long durationNs,
    boolean responded, long bytesSent, long bytesReceived) {

  void addTo(Aggregator aggregator) {
    aggregator.add(protocol, role, ssl, localIp, localPort, peerIp, peerPort, service, method, statusClass, library,
        durationNs, responded, bytesSent, bytesReceived);
  }
}
