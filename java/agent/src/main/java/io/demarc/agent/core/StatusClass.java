package io.demarc.agent.core;

/** The three status classes of a row; compared by identity on the hot path. */
public final class StatusClass {
  public static final String OK = "ok";
  public static final String CLIENT_ERROR = "client_error";
  public static final String SERVER_ERROR = "server_error";

  private StatusClass() {}

  /** HTTP: 4xx is the client's fault, 5xx (and no answer at all, status &lt; 0) the server's. */
  public static String http(int status) {
    if (status < 0 || status >= 500) return SERVER_ERROR;
    if (status >= 400) return CLIENT_ERROR;
    return OK;
  }

  /**
   * gRPC codes by number: the caller's mistakes are client errors (INVALID_ARGUMENT, NOT_FOUND,
   * ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION, OUT_OF_RANGE, UNAUTHENTICATED,
   * CANCELLED); the rest of the non-OK codes are server errors.
   */
  public static String grpc(int code) {
    return switch (code) {
      case 0 -> OK;
      case 1, 3, 5, 6, 7, 9, 11, 16 -> CLIENT_ERROR;
      default -> SERVER_ERROR;
    };
  }
}
