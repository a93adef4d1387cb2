package io.demarc.agent;

import static net.bytebuddy.matcher.ElementMatchers.hasSuperType;
import static net.bytebuddy.matcher.ElementMatchers.isAbstract;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.named;
import static net.bytebuddy.matcher.ElementMatchers.nameStartsWith;
import static net.bytebuddy.matcher.ElementMatchers.not;
import static net.bytebuddy.matcher.ElementMatchers.takesArgument;
import static net.bytebuddy.matcher.ElementMatchers.takesArguments;

import java.util.List;
import net.bytebuddy.description.method.MethodDescription;
import net.bytebuddy.description.type.TypeDescription;
import net.bytebuddy.matcher.ElementMatcher;

/**
 * One instrumentation as data: which types, which methods, which advice (by class name, so the
 * advice is read as bytes and never loaded here), and the library versions it covers.
 */
record LibraryHook(String name, String covers, ElementMatcher<? super TypeDescription> types, List<Method> methods) {

  record Method(ElementMatcher<? super MethodDescription> matcher, String advice) {}

  private static final String ADVICE = "io.demarc.agent.advice.";

  private static Method m(ElementMatcher<? super MethodDescription> matcher, String advice) {
    return new Method(matcher, ADVICE + advice);
  }

  /** Every instrumentation the agent has; README.md's table lists the same. */
  static final List<LibraryHook> ALL = List.of(
      new LibraryHook("jdk-httpserver", "JDK 11-25 com.sun.net.httpserver (HTTP and HTTPS)",
          named("sun.net.httpserver.ServerImpl$Exchange$LinkHandler"),
          List.of(m(named("handle").and(takesArguments(1)), "JdkHttpServerAdvice"))),
      new LibraryHook("jdk-httpclient", "JDK 11-25 java.net.http.HttpClient send/sendAsync",
          named("jdk.internal.net.http.HttpClientImpl"),
          List.of(m(named("sendAsync").and(takesArguments(4)), "JdkHttpClientAdvice"))),
      new LibraryHook("httpurlconnection", "JDK 11-25 HttpURLConnection / HttpsURLConnection",
          named("sun.net.www.protocol.http.HttpURLConnection"),
          List.of(m(named("getInputStream").and(takesArguments(0)), "HttpUrlConnectionAdvice"))),
      new LibraryHook("okhttp", "OkHttp 3.x, 4.x, 5.x (tested 4.12.0 and 5.3.2)",
          named("okhttp3.internal.connection.RealCall").or(named("okhttp3.RealCall")),
          List.of(m(nameStartsWith("getResponseWithInterceptorChain").and(takesArguments(0)), "OkHttpAdvice"))),
      new LibraryHook("apache-httpclient5", "Apache HttpClient 5.x classic (tested 5.6)",
          nameStartsWith("org.apache.hc.client5.http.impl.classic.").and(not(isAbstract()))
              .and(hasSuperType(named("org.apache.hc.client5.http.impl.classic.CloseableHttpClient"))),
          List.of(m(named("doExecute").and(takesArguments(3)).and(not(isAbstract())), "ApacheHttpClient5Advice"))),
      new LibraryHook("servlet", "Jakarta Servlet 5-6.1: Tomcat 10/11 (tested 11.0.27), Jetty 12 (tested 12.1.14 ee11), Spring Boot 3",
          named("jakarta.servlet.http.HttpServlet"),
          List.of(m(named("service").and(takesArguments(2))
              .and(takesArgument(0, named("jakarta.servlet.ServletRequest"))), "ServletAdvice"))),
      new LibraryHook("grpc-client", "gRPC-java 1.x unary and streaming (tested 1.85.1)",
          named("io.grpc.internal.ClientCallImpl"),
          List.of(m(named("start").and(takesArguments(2)), "GrpcClientStartAdvice"),
              m(named("closeObserver").and(takesArguments(3)), "GrpcClientCloseAdvice"))),
      new LibraryHook("grpc-server", "gRPC-java 1.x unary and streaming (tested 1.85.1)",
          named("io.grpc.internal.ServerCallImpl"),
          List.of(m(isConstructor(), "GrpcServerStartAdvice"),
              m(named("close").and(takesArguments(2)), "GrpcServerCloseAdvice"))),
      new LibraryHook("dubbo-consumer", "Apache Dubbo 3.x (tested 3.3.6)",
          named("org.apache.dubbo.rpc.protocol.AbstractInvoker"),
          List.of(m(named("invoke").and(takesArguments(1)), "DubboConsumerAdvice"))),
      new LibraryHook("dubbo-consumer-connection", "Apache Dubbo 3.3.x dubbo protocol (tested 3.3.6)",
          named("org.apache.dubbo.rpc.protocol.dubbo.DubboInvoker"),
          List.of(m(named("doInvoke").and(takesArguments(1)), "DubboInvokerAdvice"))),
      new LibraryHook("dubbo-provider", "Apache Dubbo 3.x (tested 3.3.6)",
          named("org.apache.dubbo.rpc.proxy.AbstractProxyInvoker"),
          List.of(m(named("invoke").and(takesArguments(1)), "DubboProviderAdvice"))));
}
