package io.demarc.agent.dubbo;

import org.apache.dubbo.rpc.AsyncRpcResult;
import org.apache.dubbo.rpc.Filter;
import org.apache.dubbo.rpc.Invocation;
import org.apache.dubbo.rpc.Invoker;
import org.apache.dubbo.rpc.Result;
import org.apache.dubbo.rpc.RpcException;

/**
 * A provider filter that answers some calls itself, as fault injection does: the message
 * "filtered" gets an RpcException as its result, "filtered-throw" makes the filter throw (Dubbo
 * answers SERVICE_ERROR). Neither reaches the service implementation.
 */
public final class FaultFilter implements Filter {
  @Override
  public Result invoke(Invoker<?> invoker, Invocation invocation) throws RpcException {
    Object[] args = invocation.getArguments();
    Object message = args != null && args.length == 1 ? args[0] : null;
    if ("filtered".equals(message)) {
      return AsyncRpcResult.newDefaultAsyncResult(new RpcException(RpcException.BIZ_EXCEPTION, "filtered"), invocation);
    }
    if ("filtered-throw".equals(message)) throw new RpcException("filtered, thrown");
    return invoker.invoke(invocation);
  }
}
