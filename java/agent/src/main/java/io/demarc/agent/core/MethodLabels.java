package io.demarc.agent.core;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The method labels of rows, made once and reused: an application calls few distinct routes, so
 * building "GET /path" or splitting "pkg.Service/Method" on every call would only feed the
 * garbage collector. Bounded: past {@link #MAX_ENTRIES} labels (raw client paths with ids in
 * them, say), new ones are built per call as before rather than growing memory.
 */
public final class MethodLabels {
  static final int MAX_ENTRIES = 4096;

  /**
   * A gRPC method's row fields, and the full name they came from (the cache's key: a hit reads
   * this one object, which the advice then reads its labels from).
   */
  public record Grpc(String service, String method, String fullMethodName) {}

  /**
   * What a client call's row takes from its URL, with the URL's whole text and the verb it was
   * made for: its label ("GET /path") and its peer IP (the host when it is an IP literal, else "").
   */
  public record ClientUrl(String url, String verb, String label, String peerIp) {}

  /** Labels by path, one map per common verb (index of {@link #verb}). */
  @SuppressWarnings("unchecked")
  private static final ConcurrentHashMap<String, String>[] HTTP = new ConcurrentHashMap[8];
  private static final ConcurrentHashMap<String, Grpc> GRPC = new ConcurrentHashMap<>();
  /**
   * The gRPC methods met last, one per slot of their name's hash, in front of {@link #GRPC}: the
   * name is the method descriptor's own String, so the hash is cached in it and the compare is
   * mostly by identity; a slot read touches less memory than the map's lookup.
   */
  private static final Grpc[] RECENT_GRPC = new Grpc[64];
  /** Entries in all the maps (only counted when one is added). */
  private static final AtomicInteger ENTRIES = new AtomicInteger();

  static {
    for (int i = 0; i < HTTP.length; i++) HTTP[i] = new ConcurrentHashMap<>();
  }

  private MethodLabels() {}

  /** "GET /path" with the query string cut off. */
  static String http(String verb, String path) {
    if (path == null || path.isEmpty()) path = "/";
    int q = path.indexOf('?');
    if (q >= 0) path = path.substring(0, q);
    int v = verb(verb);
    if (v < 0) return verb + " " + path;
    ConcurrentHashMap<String, String> labels = HTTP[v];
    String label = labels.get(path);
    if (label == null) {
      label = verb + " " + path;
      if (ENTRIES.get() < MAX_ENTRIES && labels.putIfAbsent(path, label) == null) ENTRIES.incrementAndGet();
    }
    return label;
  }

  /**
   * This thread's last {@link ClientUrl} ({@link ThreadRecent}) if it was made for this URL text
   * and verb, else null. A client library builds its URL object per call, so the path is a new
   * substring and its map lookup hashes it afresh; comparing the URL's text (a field, made once
   * per URL object) with the last one's is less work, and a thread mostly calls the same URL again.
   */
  static ClientUrl recentClientUrl(String verb, String url) {
    return ThreadRecent.get(ThreadRecent.block(), ThreadRecent.URL) instanceof ClientUrl r && r.url.equals(url)
        && r.verb.equals(verb) ? r : null;
  }

  /** The {@link ClientUrl} of a URL of this text, path and host, remembered as this thread's last. */
  static ClientUrl clientUrl(String verb, String url, String path, String host) {
    ClientUrl r = new ClientUrl(url, verb == null ? "" : verb, http(verb, path), Recorder.literalIp(host));
    ThreadRecent.put(ThreadRecent.block(), ThreadRecent.URL, r);
    return r;
  }

  private static int verb(String verb) {
    if (verb == null) return -1;
    return switch (verb) {
      case "GET" -> 0;
      case "POST" -> 1;
      case "PUT" -> 2;
      case "DELETE" -> 3;
      case "PATCH" -> 4;
      case "HEAD" -> 5;
      case "OPTIONS" -> 6;
      case "TRACE" -> 7;
      default -> -1;
    };
  }

  /**
   * "pkg.Service/Method" as its service and method (no slash: no service). The thread's last
   * method first ({@link ThreadRecent}), compared by identity: the name is the method
   * descriptor's own String, so this reads neither its hash nor a shared slot.
   */
  static Grpc grpc(String fullMethodName) {
    int block = ThreadRecent.block();
    if (ThreadRecent.get(block, ThreadRecent.GRPC) instanceof Grpc last && last.fullMethodName == fullMethodName) {
      return last;
    }
    int slot = (fullMethodName.hashCode() * 0x9E3779B9) >>> 26; // the top 6 bits: 64 slots
    Grpc e = RECENT_GRPC[slot];
    if (e == null || !e.fullMethodName.equals(fullMethodName)) {
      e = GRPC.get(fullMethodName);
      if (e == null) {
        int slash = fullMethodName.lastIndexOf('/');
        e = new Grpc(fullMethodName.substring(0, Math.max(slash, 0)), fullMethodName.substring(slash + 1),
            fullMethodName);
        if (ENTRIES.get() < MAX_ENTRIES && GRPC.putIfAbsent(fullMethodName, e) == null) ENTRIES.incrementAndGet();
      }
      RECENT_GRPC[slot] = e;
    }
    // The thread's entry holds the caller's instance of the name, which its next call compares.
    Grpc mine = e.fullMethodName == fullMethodName ? e : new Grpc(e.service, e.method, fullMethodName);
    ThreadRecent.put(block, ThreadRecent.GRPC, mine);
    return mine;
  }

  /** How many labels are cached (tests check the bound). */
  static int size() {
    return ENTRIES.get();
  }
}
