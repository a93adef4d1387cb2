package io.demarc.agent.dubbo;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ProtocolConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.ServiceConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.model.FrameworkModel;

/**
 * A Dubbo provider and a consumer dialing it directly (no registry) in one JVM, each in its own
 * framework model so the call really goes over TCP. "run N message" makes N calls and prints
 * "result ok failed meanNs"; the message "fail" makes the service throw.
 */
public final class DubboChildApp {
  public static void main(String[] args) throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    ApplicationConfig papp = new ApplicationConfig("demarc-test-provider");
    papp.setQosEnable(false);
    // -Ddemarc.dubbo.protocol=tri: the triple protocol (HTTP/2) instead of dubbo.
    String name = System.getProperty("demarc.dubbo.protocol", "dubbo");
    ProtocolConfig protocol = new ProtocolConfig(name, port);
    protocol.setHost("127.0.0.1");
    ServiceConfig<Echo> service = new ServiceConfig<>();
    service.setInterface(Echo.class);
    service.setFilter("demarcTestFaults");
    service.setRef(message -> {
      if (message.equals("fail")) throw new IllegalStateException("asked to fail");
      return message;
    });
    DubboBootstrap.newInstance(new FrameworkModel()).application(papp)
        .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE)).protocol(protocol).service(service).start();

    ApplicationConfig capp = new ApplicationConfig("demarc-test-consumer");
    capp.setQosEnable(false);
    ReferenceConfig<Echo> ref = new ReferenceConfig<>();
    ref.setInterface(Echo.class);
    ref.setUrl(name + "://127.0.0.1:" + port);
    ref.setRetries(0);
    // -Ddemarc.dubbo.connections=N: N connections to the provider, used in turn.
    ref.setConnections(Integer.getInteger("demarc.dubbo.connections", 1));
    ref.setTimeout(10_000);
    DubboBootstrap.newInstance(new FrameworkModel()).application(capp)
        .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE)).reference(ref).start();
    Echo echo = ref.get();
    echo.echo("warm-up");
    EchoLoop.serve(echo, port);
  }
}
