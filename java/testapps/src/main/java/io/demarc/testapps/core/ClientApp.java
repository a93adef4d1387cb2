package io.demarc.testapps.core;

import java.util.Map;

/** A client: {@code run <n> ...} drives calls through {@link #call}; connections outlive runs. */
public abstract class ClientApp implements App, LoadRunner.Call {
  @Override
  public Map<String, Integer> ports() {
    return Map.of();
  }

  @Override
  public String command(String line) {
    Command c = Command.parse(line);
    if (!c.verb().equals("run")) return Command.error("unknown command " + c.verb());
    try {
      return LoadRunner.run(LoadRunner.Options.parse(c), this);
    } catch (IllegalArgumentException e) {
      return Command.error(e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Command.error("interrupted");
    }
  }
}
