package io.demarc.agent.dubbo;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;

/**
 * {@link DubboChildApp} for Dubbo 2.7 (one bootstrap per JVM there): a provider over the dubbo
 * protocol and a consumer dialing it directly (a direct URL is never referred in-JVM). Compiled
 * against Dubbo 3.3's config API through methods 2.7 has with the same descriptors, and run with
 * Dubbo 2.7 alone on the class path.
 */
public final class Dubbo27ChildApp {
  private Dubbo27ChildApp() {}

  public static void main(String[] args) throws Exception {
    java.io.PrintStream out = System.out;
    System.setOut(System.err); // whatever Dubbo prints must not come before "ready"
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    ApplicationConfig app = new ApplicationConfig("demarc-test-dubbo27");
    app.setQosEnable(false);
    RegistryConfig none = new RegistryConfig(RegistryConfig.NO_AVAILABLE);
    ProtocolConfig protocol = new ProtocolConfig("dubbo", port);
    protocol.setHost("127.0.0.1");
    ServiceConfig<Echo> service = new ServiceConfig<>();
    service.setApplication(app);
    service.setRegistry(none);
    service.setProtocol(protocol);
    service.setInterface(Echo.class);
    service.setFilter("demarcTestFaults");
    service.setRef(message -> {
      if (message.equals("fail")) throw new IllegalStateException("asked to fail");
      return message;
    });
    service.export();

    ReferenceConfig<Echo> ref = new ReferenceConfig<>();
    ref.setApplication(app);
    ref.setRegistry(none);
    ref.setInterface(Echo.class);
    ref.setUrl("dubbo://127.0.0.1:" + port);
    ref.setRetries(0);
    // -Ddemarc.dubbo.connections=N: N connections to the provider, used in turn.
    ref.setConnections(Integer.getInteger("demarc.dubbo.connections", 1));
    ref.setTimeout(10_000);
    Echo echo = ref.get();
    echo.echo("warm-up");
    EchoLoop.serve(echo, port, out);
  }
}
