package io.demarc.testapps.core;

import java.util.Map;

/** A running test app: a server (with ports) or a client (no ports), steered by line commands. */
public interface App extends AutoCloseable {
  /** The app's name as given on the command line, e.g. {@code grpc-server}. */
  String name();

  /** Listening ports by role ({@code plain}, {@code tls}); empty for a client. */
  Map<String, Integer> ports();

  /**
   * Carries out one control line ({@code set ...}, {@code stats}, {@code run ...}).
   *
   * @returns one JSON object, without a newline
   */
  String command(String line);

  @Override
  void close();
}
