package io.demarc.testapps.dubbo;

import io.demarc.testapps.core.ClientApp;
import io.demarc.testapps.core.Flags;
import io.demarc.testapps.core.Outcome;
import java.nio.charset.StandardCharsets;
import org.apache.dubbo.config.ApplicationConfig;
import org.apache.dubbo.config.ReferenceConfig;
import org.apache.dubbo.config.RegistryConfig;
import org.apache.dubbo.config.bootstrap.DubboBootstrap;
import org.apache.dubbo.rpc.RpcContext;
import org.apache.dubbo.rpc.RpcException;
import org.apache.dubbo.rpc.model.FrameworkModel;

/**
 * {@code dubbo-consumer --url dubbo://host:port [--method echo|echoBytes]}: calls the provider
 * directly over one shared connection. A {@link RpcException} raised here (timeout, network,
 * serialization) is a client error; an exception thrown by the provider is a server error.
 */
public final class DubboConsumer extends ClientApp {
  private final FrameworkModel framework = new FrameworkModel();
  private final DubboBootstrap bootstrap;
  private final EchoService echo;
  private final boolean bytes;

  public DubboConsumer(Flags flags) {
    String method = flags.get("method", "echo");
    if (!method.equals("echo") && !method.equals("echoBytes")) {
      throw new IllegalArgumentException("--method must be echo or echoBytes, not " + method);
    }
    bytes = method.equals("echoBytes");
    ApplicationConfig app = new ApplicationConfig(flags.get("name", "demarc-dubbo-consumer"));
    app.setQosEnable(false);
    ReferenceConfig<EchoService> ref = new ReferenceConfig<>();
    ref.setInterface(EchoService.class);
    ref.setUrl(flags.required("url"));
    ref.setTimeout(flags.integer("timeout-ms", 30_000));
    ref.setRetries(0);
    bootstrap = DubboBootstrap.newInstance(framework)
        .application(app)
        .registry(new RegistryConfig(RegistryConfig.NO_AVAILABLE))
        .reference(ref)
        .start();
    echo = ref.get();
  }

  @Override
  public Outcome call(byte[] payload) {
    long received;
    try {
      if (bytes) {
        received = echo.echoBytes(payload).length;
      } else {
        String reply = echo.echo(new String(payload, StandardCharsets.ISO_8859_1));
        received = reply.getBytes(StandardCharsets.ISO_8859_1).length;
      }
      return new Outcome(Outcome.Kind.OK, payload.length, received, peerPort());
    } catch (RpcException e) {
      Outcome.Kind kind = raisedHere(e) ? Outcome.Kind.CLIENT_ERROR : Outcome.Kind.SERVER_ERROR;
      return new Outcome(kind, payload.length, 0, peerPort());
    } catch (RuntimeException e) {
      return new Outcome(Outcome.Kind.SERVER_ERROR, payload.length, 0, peerPort());
    }
  }

  /**
   * Timeouts, network, serialization and local limits; anything else came from the provider.
   * A SERVICE_ERROR response reaches the caller as a network RpcException: an injected one is
   * told apart by its message.
   */
  private static boolean raisedHere(RpcException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && t.getMessage().contains(FaultFilter.INJECTED)) return false;
    }
    return e.isTimeout() || e.isNetwork() || e.isSerialization() || e.isForbidden()
        || e.isLimitExceed() || e.isNoInvokerAvailableAfterFilter();
  }

  private static int peerPort() {
    return Outcome.port(RpcContext.getClientResponseContext().getAttachment(DubboProvider.PEER_PORT));
  }

  @Override
  public String name() {
    return "dubbo-consumer";
  }

  @Override
  public void close() {
    bootstrap.destroy();
    framework.destroy();
  }
}
