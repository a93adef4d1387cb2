package io.demarc.agent;

import static net.bytebuddy.matcher.ElementMatchers.declaresField;
import static net.bytebuddy.matcher.ElementMatchers.hasSuperType;
import static net.bytebuddy.matcher.ElementMatchers.isAbstract;
import static net.bytebuddy.matcher.ElementMatchers.isConstructor;
import static net.bytebuddy.matcher.ElementMatchers.isDeclaredBy;
import static net.bytebuddy.matcher.ElementMatchers.isStatic;
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
 * One hook as data: which types, which methods, which advice (by class name, so the advice is read
 * as bytes and never loaded here), and the library versions it covers. {@code instrumentation} is
 * the name the runner knows it by (probes/jvm/probe.yaml's {@code attach} list; CONFIG's
 * {@code disabled}, HELLO's {@code name}); several hooks may share one.
 */
record LibraryHook(String name, String instrumentation, String covers, ElementMatcher<? super TypeDescription> types, List<Method> methods) {

  record Method(ElementMatcher<? super MethodDescription> matcher, String advice) {}

  private static final String ADVICE = "io.demarc.agent.advice.";
  private static final String URLCONN = "sun.net.www.protocol.http.HttpURLConnection";
  private static final String OKHTTP3_TRANSMITTER = "okhttp3.internal.connection.Transmitter";
  private static final String APACHE_RUNTIME = "org.apache.hc.client5.http.impl.classic.InternalExecRuntime";

  private static Method m(ElementMatcher<? super MethodDescription> matcher, String advice) {
    return new Method(matcher, ADVICE + advice);
  }

  /** Every instrumentation the agent has; README.md's table lists the same. */
  static final List<LibraryHook> ALL = List.of(
      new LibraryHook("jdk-httpserver", "jdk_httpserver", "JDK 11-25 com.sun.net.httpserver (HTTP and HTTPS)",
          named("sun.net.httpserver.ServerImpl$Exchange$LinkHandler"),
          List.of(m(named("handle").and(takesArguments(1)), "JdkHttpServerAdvice"))),
      new LibraryHook("jdk-httpclient", "jdk_httpclient", "JDK 11-25 java.net.http.HttpClient send/sendAsync",
          named("jdk.internal.net.http.HttpClientImpl"),
          List.of(m(named("sendAsync").and(takesArguments(4)), "JdkHttpClientAdvice"),
              m(named("send").and(takesArguments(2)), "JdkHttpClientSendAdvice"))),
      new LibraryHook("httpurlconnection", "urlconnection", "JDK 11-25 HttpURLConnection / HttpsURLConnection",
          named(URLCONN).or(named(URLCONN + "$HttpInputStream")),
          List.of(m(named("getInputStream").and(takesArguments(0)).and(isDeclaredBy(named(URLCONN))),
                  "HttpUrlConnectionAdvice"),
              m(named("plainConnect").and(takesArguments(0)).and(isDeclaredBy(named(URLCONN))),
                  "HttpUrlConnectionConnectAdvice"),
              m(named("disconnect").and(takesArguments(0)).and(isDeclaredBy(named(URLCONN))),
                  "HttpUrlConnectionDisconnectAdvice"),
              m(named("read").and(takesArguments(0).or(takesArguments(byte[].class, int.class, int.class)))
                  .and(isDeclaredBy(named(URLCONN + "$HttpInputStream"))), "HttpUrlConnectionBodyAdvice"),
              m(named("close").and(takesArguments(0)).and(isDeclaredBy(named(URLCONN + "$HttpInputStream"))),
                  "HttpUrlConnectionCloseAdvice"))),
      new LibraryHook("okhttp", "okhttp", "OkHttp 4.x, 5.x (tested 4.12.0 and 5.3.2)",
          named("okhttp3.internal.connection.RealCall"),
          List.of(m(nameStartsWith("getResponseWithInterceptorChain").and(takesArguments(0)), "OkHttpAdvice"),
              m(named("messageDone$okhttp").and(not(isStatic())), "OkHttpBodyDoneAdvice"))),
      new LibraryHook("okhttp3", "okhttp", "OkHttp 3.14.x (tested 3.14.9)",
          named("okhttp3.RealCall").and(declaresField(named("transmitter"))).or(named(OKHTTP3_TRANSMITTER)),
          List.of(m(named("getResponseWithInterceptorChain").and(takesArguments(0))
                  .and(isDeclaredBy(named("okhttp3.RealCall"))), "OkHttp3Advice"),
              m(named("exchangeMessageDone").and(takesArguments(4)).and(isDeclaredBy(named(OKHTTP3_TRANSMITTER))),
                  "OkHttp3BodyDoneAdvice"))),
      new LibraryHook("apache-httpclient5", "apache_httpclient5", "Apache HttpClient 5.x classic (tested 5.6)",
          nameStartsWith("org.apache.hc.client5.http.impl.classic.").and(not(isAbstract()))
              .and(hasSuperType(named("org.apache.hc.client5.http.impl.classic.CloseableHttpClient"))
                  .or(named(APACHE_RUNTIME))),
          List.of(m(named("doExecute").and(takesArguments(3)).and(not(isAbstract())), "ApacheHttpClient5Advice"),
              m(isConstructor().and(isDeclaredBy(named(APACHE_RUNTIME))), "ApacheExecRuntimeAdvice"),
              m(named("releaseEndpoint").or(named("discardEndpoint")).and(takesArguments(0))
                  .and(isDeclaredBy(named(APACHE_RUNTIME))), "ApacheReleaseAdvice"))),
      new LibraryHook("servlet", "servlet", "Jakarta Servlet 5-6.1: Tomcat 10/11 (tested 10.1.48, 11.0.27), Jetty 12 (tested 12.1.14 ee11), Spring Boot 3 (tested 3.5.7)",
          named("jakarta.servlet.http.HttpServlet"),
          List.of(m(named("service").and(takesArguments(2))
              .and(takesArgument(0, named("jakarta.servlet.ServletRequest"))), "ServletAdvice"))),
      new LibraryHook("servlet-javax", "servlet", "javax.servlet 4.0: Tomcat 9 (tested 9.0.83), Spring Boot 2 (tested 2.7.18); 3.1 untested",
          named("javax.servlet.http.HttpServlet"),
          List.of(m(named("service").and(takesArguments(2))
              .and(takesArgument(0, named("javax.servlet.ServletRequest"))), "JavaxServletAdvice"))),
      new LibraryHook("grpc-client", "grpc", "gRPC-java 1.x unary and streaming (tested 1.85.1)",
          named("io.grpc.internal.ClientCallImpl"),
          List.of(m(named("start").and(takesArguments(2)), "GrpcClientStartAdvice"),
              m(named("closeObserver").and(takesArguments(3)), "GrpcClientCloseAdvice"))),
      new LibraryHook("grpc-server", "grpc", "gRPC-java 1.x unary and streaming (tested 1.85.1)",
          named("io.grpc.internal.ServerCallImpl"),
          List.of(m(named("close").and(takesArguments(2)), "GrpcServerCloseAdvice"))),
      new LibraryHook("grpc-wire", "grpc", "gRPC-java 1.x stream tracers: server call starts, bytes (tested 1.85.1)",
          named("io.grpc.internal.StatsTraceContext"),
          List.of(m(named("newClientContext").and(isStatic()), "GrpcClientContextAdvice"),
              m(named("newServerContext").and(isStatic()).and(takesArguments(3)), "GrpcServerContextAdvice"))),
      new LibraryHook("dubbo-consumer", "dubbo", "Apache Dubbo 2.7 and 3.x, dubbo and triple protocols (tested 2.7.23, 3.3.6)",
          named("org.apache.dubbo.rpc.protocol.AbstractInvoker"),
          List.of(m(named("invoke").and(takesArguments(1)), "DubboConsumerAdvice"))),
      new LibraryHook("dubbo-consumer-connection", "dubbo", "Apache Dubbo 2.7 and 3.x dubbo protocol over netty4 (tested 2.7.23, 3.3.6)",
          named("org.apache.dubbo.remoting.transport.netty4.NettyChannel"),
          List.of(m(named("send").and(takesArguments(2)), "DubboChannelSendAdvice"))),
      new LibraryHook("dubbo-provider-triple", "dubbo", "Apache Dubbo 3.x triple protocol (tested 3.3.6)",
          named("org.apache.dubbo.rpc.cluster.filter.FilterChainBuilder$CallbackRegistrationInvoker"),
          List.of(m(named("invoke").and(takesArguments(1)), "DubboTripleProviderAdvice"))),
      new LibraryHook("dubbo-provider-triple-connection", "dubbo", "Apache Dubbo 3.3.x triple protocol (tested 3.3.6)",
          named("org.apache.dubbo.rpc.protocol.tri.h12.AbstractServerCallListener"),
          List.of(m(named("invoke").and(takesArguments(0)), "DubboTripleListenerAdvice"))),
      new LibraryHook("dubbo-provider", "dubbo", "Apache Dubbo 2.7 and 3.x dubbo protocol (tested 2.7.23, 3.3.6)",
          nameStartsWith("org.apache.dubbo.rpc.protocol.dubbo.DubboProtocol$")
              .and(hasSuperType(named("org.apache.dubbo.remoting.exchange.support.ExchangeHandlerAdapter"))),
          List.of(m(named("reply").and(takesArguments(2)), "DubboProviderAdvice"))));
}
