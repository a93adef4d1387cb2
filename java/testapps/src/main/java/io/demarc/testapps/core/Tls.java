package io.demarc.testapps.core;

import java.io.InputStream;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The test certificate and the trust-all client side.
 *
 * <p>{@code tls/demarc-test.p12} is a self-signed EC certificate for {@code localhost},
 * {@code 127.0.0.1} and {@code ::1}, made once with keytool (see README.md); it protects nothing.
 */
public final class Tls {
  public static final String PASSWORD = "demarc-test";
  public static final String ALIAS = "demarc";

  private Tls() {}

  public static KeyStore keyStore() {
    try (InputStream in = Tls.class.getResourceAsStream("/tls/demarc-test.p12")) {
      if (in == null) throw new IllegalStateException("tls/demarc-test.p12 missing from the jar");
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(in, PASSWORD.toCharArray());
      return ks;
    } catch (Exception e) {
      throw new IllegalStateException("cannot load the test key store", e);
    }
  }

  public static KeyManagerFactory keyManagers() {
    try {
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(keyStore(), PASSWORD.toCharArray());
      return kmf;
    } catch (Exception e) {
      throw new IllegalStateException("cannot make key managers", e);
    }
  }

  public static SSLContext serverContext() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(keyManagers().getKeyManagers(), null, null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException("cannot make the server TLS context", e);
    }
  }

  /** A client context that accepts any certificate and any host name: tests only. */
  public static SSLContext trustAllContext() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, new X509ExtendedTrustManager[] {TRUST_ALL}, null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException("cannot make the client TLS context", e);
    }
  }

  /** Extended, so that JSSE leaves host name checks to it (and it skips them). */
  public static final X509ExtendedTrustManager TRUST_ALL = new X509ExtendedTrustManager() {
    @Override public void checkClientTrusted(X509Certificate[] c, String a) {}
    @Override public void checkServerTrusted(X509Certificate[] c, String a) {}
    @Override public void checkClientTrusted(X509Certificate[] c, String a, Socket s) {}
    @Override public void checkServerTrusted(X509Certificate[] c, String a, Socket s) {}
    @Override public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) {}
    @Override public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) {}
    @Override public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  };
}
