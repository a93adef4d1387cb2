package io.demarc.agent.core;

import java.util.function.BiConsumer;

/**
 * Records a Dubbo call when its Result completes (sync calls complete before the advice sees
 * them, so this runs at once). Dubbo chains this into the Result's own future, so it must never
 * throw.
 */
public final class DubboCompletion implements BiConsumer<Object, Throwable> {
  private static final Reflect HAS_EXCEPTION = new Reflect("hasException");
  private static final Reflect GET_EXCEPTION = new Reflect("getException");
  private static final Reflect GET_CODE = new Reflect("getCode");
  /** Dubbo's response status OK. */
  private static final int OK = 20;

  private final String role;
  private final String localIp;
  private final int localPort;
  private final String peerIp;
  private final int peerPort;
  private final String service;
  private final String method;
  private final long start;
  private final String library;

  public DubboCompletion(String role, String localIp, int localPort, String peerIp, int peerPort, String service,
      String method, long start, String library) {
    this.role = role;
    this.localIp = localIp;
    this.localPort = localPort;
    this.peerIp = peerIp;
    this.peerPort = peerPort;
    this.service = service;
    this.method = method;
    this.start = start;
    this.library = library;
  }

  @Override
  public void accept(Object result, Throwable error) {
    try {
      Throwable failure = error;
      if (failure == null && HAS_EXCEPTION.callBool(result)) {
        failure = (Throwable) GET_EXCEPTION.call(result, null);
      }
      int status = OK;
      String cls = StatusClass.OK;
      boolean responded = true;
      if (failure != null) {
        // RpcException codes: 1 network, 2 timeout, 3 biz, 4 forbidden, 5 serialization, 6 no invoker...
        int code = failure.getClass().getName().endsWith("RpcException") ? GET_CODE.callInt(failure, 0) : 3;
        status = code;
        cls = code == 4 || code == 5 ? StatusClass.CLIENT_ERROR : StatusClass.SERVER_ERROR;
        responded = code != 1 && code != 2 && code != 6;
      }
      Recorder.record("dubbo", role, false, localIp, localPort, peerIp, peerPort, service, method, status, cls,
          responded, start, -1, -1, library, failure);
    } catch (Throwable t) {
      // never into Dubbo's future
    }
  }
}
