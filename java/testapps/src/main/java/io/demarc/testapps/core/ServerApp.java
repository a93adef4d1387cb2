package io.demarc.testapps.core;

import java.nio.file.Path;

/** What every server shares: its {@link Faults}, the control file, and the common verbs. */
public abstract class ServerApp implements App {
  protected final Faults faults = new Faults();
  protected final String host;

  protected ServerApp(Flags flags) {
    host = flags.get("host", "127.0.0.1");
    String file = flags.get("control-file", null);
    if (file != null) faults.watch(Path.of(file));
  }

  @Override
  public String command(String line) {
    Command c = Command.parse(line);
    String answer = faults.command(c);
    return answer != null ? answer : Command.error("unknown command " + c.verb());
  }

  /**
   * How long an HTTP server keeps an idle keep-alive connection: long, so that a client's
   * connection survives pauses between runs (the L4 probe should see one connection).
   */
  public static final int IDLE_TIMEOUT_MS = 600_000;

  /** The response header (or attachment) in which servers tell a client its own port. */
  public static final String PEER_PORT = "X-Demarc-Peer-Port";
}
