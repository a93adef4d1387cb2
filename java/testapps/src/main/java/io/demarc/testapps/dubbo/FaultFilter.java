package io.demarc.testapps.dubbo;

import io.demarc.testapps.core.Faults;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.dubbo.rpc.AsyncRpcResult;
import org.apache.dubbo.rpc.Filter;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;
import org.apache.dubbo.rpc.RpcContext;
import org.apache.dubbo.rpc.RpcException;

/**
 * The provider's fault injection, as a Dubbo filter (SPI name {@code demarcFaults}) so that it can
 * also fail a call at the protocol level. Per {@code error_code}:
 * <ul>
 *   <li>{@code rpc} (default): the call returns an {@link RpcException} with code BIZ_EXCEPTION
 *       (response status OK, the exception as its result);</li>
 *   <li>{@code biz}: the call returns an {@link IllegalStateException} (same, a business exception);</li>
 *   <li>{@code status}: the filter throws, and Dubbo answers with response status SERVICE_ERROR (70).</li>
 * </ul>
 * Dubbo makes filters itself, so each provider registers its {@link Faults} under its port.
 */
public final class FaultFilter implements Filter {
  /** The message of every injected error; consumers recognise it (ground truth, not a heuristic). */
  static final String INJECTED = "demarc: injected error";
  static final Map<Integer, Faults> BY_PORT = new ConcurrentHashMap<>();

  @Override
  public Result invoke(Invoker<?> invoker, Invocation invocation) throws RpcException {
    RpcContext.getServerResponseContext().setAttachment(DubboProvider.PEER_PORT,
        Integer.toString(RpcContext.getServiceContext().getRemotePort()));
    Faults faults = BY_PORT.get(invoker.getUrl().getPort());
    if (faults == null || !faults.admit(size(invocation.getArguments()))) {
      return invoker.invoke(invocation);
    }
    return switch (faults.errorCode("rpc")) {
      case "status" -> throw new RpcException(INJECTED);
      case "biz" -> AsyncRpcResult.newDefaultAsyncResult(new IllegalStateException(INJECTED), invocation);
      default -> AsyncRpcResult.newDefaultAsyncResult(
          new RpcException(RpcException.BIZ_EXCEPTION, INJECTED), invocation);
    };
  }

  /** Application bytes of the single argument: a String (UTF-8) or a byte[]. */
  static int size(Object[] args) {
    if (args == null || args.length == 0 || args[0] == null) return 0;
    if (args[0] instanceof byte[] b) return b.length;
    return args[0].toString().getBytes(StandardCharsets.UTF_8).length;
  }
}
