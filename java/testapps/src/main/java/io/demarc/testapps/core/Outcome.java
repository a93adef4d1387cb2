package io.demarc.testapps.core;

/**
 * What one call ended with, as the client itself saw it.
 *
 * @param kind ok, a client-side error or a server-side error
 * @param bytesSent application payload bytes sent (request body or message)
 * @param bytesReceived application payload bytes received
 * @param localPort the client's port of the connection used, as the server reported it; 0 if unknown
 */
public record Outcome(Kind kind, long bytesSent, long bytesReceived, int localPort) {
  public enum Kind { OK, CLIENT_ERROR, SERVER_ERROR }

  /** Classifies an HTTP status: 5xx server error, 4xx client error, anything else ok. */
  public static Kind ofHttpStatus(int status) {
    if (status >= 500) return Kind.SERVER_ERROR;
    if (status >= 400) return Kind.CLIENT_ERROR;
    return Kind.OK;
  }

  public static int port(String header) {
    if (header == null) return 0;
    try {
      return Integer.parseInt(header.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
