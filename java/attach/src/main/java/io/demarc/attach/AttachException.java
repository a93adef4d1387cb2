package io.demarc.attach;

/**
 * A refusal or failure the runner can act on: a stable machine-readable {@code code}, a sentence
 * saying what went wrong and a hint saying what to do about it.
 */
public final class AttachException extends Exception {
  private final String code;
  private final String hint;

  public AttachException(String code, String message, String hint) {
    this(code, message, hint, null);
  }

  public AttachException(String code, String message, String hint, Throwable cause) {
    super(message, cause);
    this.code = code;
    this.hint = hint;
  }

  /** One of: bad_input, not_found, not_jvm, not_hotspot, attach_disabled, no_sigquit, exited,
   *  permission, timeout, version_conflict, load_failed, io. */
  public String code() {
    return code;
  }

  public String hint() {
    return hint;
  }
}
