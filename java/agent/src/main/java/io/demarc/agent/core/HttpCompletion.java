package io.demarc.agent.core;

import java.util.function.BiConsumer;

/**
 * Records an asynchronous HTTP client call (JDK HttpClient) when its future completes. Never
 * throws: an exception here would land in a future the application may observe.
 */
public final class HttpCompletion implements BiConsumer<Object, Throwable> {
  private static final Reflect STATUS_CODE = new Reflect("statusCode");

  private final boolean ssl;
  private final String peerIp;
  private final int peerPort;
  private final String host;
  private final String method;
  private final long start;
  private final String library;

  public HttpCompletion(boolean ssl, String peerIp, int peerPort, String host, String method, long start,
      String library) {
    this.ssl = ssl;
    this.peerIp = peerIp;
    this.peerPort = peerPort;
    this.host = host;
    this.method = method;
    this.start = start;
    this.library = library;
  }

  @Override
  public void accept(Object response, Throwable error) {
    try {
      int status = response == null ? -1 : STATUS_CODE.callInt(response, -1);
      Recorder.record("http", "client", ssl, "", 0, peerIp, peerPort, host, method, status, StatusClass.http(status),
          status > 0, start, -1, -1, library, error);
    } catch (Throwable t) {
      // counted by Recorder already (or the test switch): the application must not see it
    }
  }
}
