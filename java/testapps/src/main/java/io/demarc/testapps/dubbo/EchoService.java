package io.demarc.testapps.dubbo;

/** The Dubbo test service: both methods return their argument. */
public interface EchoService {
  String echo(String message);

  byte[] echoBytes(byte[] payload);
}
