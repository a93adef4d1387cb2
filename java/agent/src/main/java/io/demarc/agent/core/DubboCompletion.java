package io.demarc.agent.core;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiConsumer;

/**
 * Records a Dubbo call from its outcome: at once when the call has completed by the time the
 * advice sees it ({@link #record}, {@link #recordIfDone}: sync calls, nothing allocated), else as
 * the callback chained into the Result's future (an instance holds the call's fields until then).
 * Dubbo runs the callback inside its own future, so nothing here may throw.
 */
public final class DubboCompletion implements BiConsumer<Object, Throwable> {
  private static final Reflect HAS_EXCEPTION = new Reflect("hasException");
  private static final Reflect GET_EXCEPTION = new Reflect("getException");
  private static final Reflect GET_CODE = new Reflect("getCode");
  private static final Reflect GET_ATTACHMENT = Reflect.withStringArgument("getAttachment");
  /**
   * Dubbo's count codec (dubbo protocol) notes the size of each message it decodes: the request's
   * on the provider's invocation ({@link #REQUEST_BYTES}), the response's on the consumer's
   * AppResponse ({@link #RESPONSE_BYTES}); header included, as on the wire. Sent sizes it does not note.
   */
  public static final String REQUEST_BYTES = "input";
  public static final String RESPONSE_BYTES = "output";
  /** The consumer's role, as its advice passes it (the same literal, so compared by identity). */
  private static final String CLIENT = "client";
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
  /** Bytes received, when known before the call completes (a provider's request), else -1. */
  private final long received;

  public DubboCompletion(String role, String localIp, int localPort, String peerIp, int peerPort, String service,
      String method, long start, String library, long received) {
    this.role = role;
    this.localIp = localIp;
    this.localPort = localPort;
    this.peerIp = peerIp;
    this.peerPort = peerPort;
    this.service = service;
    this.method = method;
    this.start = start;
    this.library = library;
    this.received = received;
  }

  @Override
  public void accept(Object result, Throwable error) {
    record(role, localIp, localPort, peerIp, peerPort, service, method, start, library, received, result, error);
  }

  /**
   * Records the call now when {@code future} (Dubbo's response future) has completed; false, with
   * nothing recorded, when it is still running (or null): then chain a {@link DubboCompletion}.
   */
  public static boolean recordIfDone(CompletableFuture<?> future, String role, String localIp, int localPort,
      String peerIp, int peerPort, String service, String method, long start, String library, long received) {
    if (future == null || !future.isDone()) return false;
    Object result = null;
    Throwable error = null;
    try {
      result = future.getNow(null);
    } catch (CompletionException e) {
      error = e.getCause() != null ? e.getCause() : e; // what a whenComplete callback would have seen
    } catch (CancellationException e) {
      error = e;
    }
    record(role, localIp, localPort, peerIp, peerPort, service, method, start, library, received, result, error);
    return true;
  }

  /**
   * Records one call: {@code result} is Dubbo's Result or AppResponse (null when the call threw),
   * {@code error} what the call failed with (null when it returned), {@code received} the bytes
   * received when known already (-1: a consumer's are read from its result). The result's
   * exception and size are read reflectively here, as the core cannot name Dubbo's types.
   */
  public static void record(String role, String localIp, int localPort, String peerIp, int peerPort, String service,
      String method, long start, String library, long received, Object result, Throwable error) {
    try {
      Throwable failure = error;
      if (failure == null && HAS_EXCEPTION.callBool(result)) {
        failure = (Throwable) GET_EXCEPTION.call(result, null);
      }
      if (received < 0 && result != null && role == CLIENT && Recorder.config().bytes()) {
        received = GET_ATTACHMENT.callWith(result, RESPONSE_BYTES, null) instanceof String size
            ? Recorder.parseLength(size) : -1;
      }
      recordOutcome(role, localIp, localPort, peerIp, peerPort, service, method, start, library, received, failure);
    } catch (Throwable t) {
      Recorder.internalError(t); // never into Dubbo's future nor the application
    }
  }

  /**
   * Records one call whose outcome the caller has read already: {@code failure} is what it
   * failed with (the thrown exception or the Result's), null when it succeeded; {@code received}
   * the bytes received (-1: unknown). Advice that can
   * name Dubbo's Result calls this on the sync path: a typed call there instead of a method
   * handle found per class here.
   */
  public static void recordOutcome(String role, String localIp, int localPort, String peerIp, int peerPort,
      String service, String method, long start, String library, long received, Throwable failure) {
    try {
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
          responded, start, -1, received, library, failure);
    } catch (Throwable t) {
      Recorder.internalError(t); // never into Dubbo's future nor the application
    }
  }
}
