package io.demarc.agent.dubbo;

/** The Dubbo service of the tests. */
public interface Echo {
  String echo(String message);
}
