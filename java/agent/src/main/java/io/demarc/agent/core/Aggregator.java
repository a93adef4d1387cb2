package io.demarc.agent.core;

import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Per-row counters of one agent, bounded by a cardinality cap: once {@code cap} rows exist, calls
 * of new rows are folded into one overflow row (and counted) instead of growing memory.
 */
public final class Aggregator {
  /** A row idle this many periods is forgotten, so rows of finished peers do not hold the cap. */
  private static final int EVICT_AFTER_IDLE_PERIODS = 3;

  private final ConcurrentHashMap<RowKey, Cell> cells = new ConcurrentHashMap<>();
  private final long[] bounds;
  private final int cap;
  private final Cell overflow;
  private final AtomicLong overflowCalls = new AtomicLong();

  private final PeerAddresses addresses;
  private long overflowReported;
  /**
   * The row each thread added to last, one slot per thread id (threads whose ids share a slot
   * take turns in it): a call of the same row as its thread's last one compares the fields with
   * that row's key and adds, without hashing a key or reading the map. Calls of a server thread
   * mostly go to the same row, and the map's table, nodes and keys are then left untouched (in
   * a JVM sharing its CPU they are cache misses). Plain reads and writes: a Cell is immutable
   * where it matters (final fields, its key), so a racing thread sees either cell whole; a slot
   * holding an evicted (closed) cell just misses.
   */
  private final Cell[] recent = new Cell[RECENT_SLOTS];
  private static final int RECENT_SLOTS = 64;

  public Aggregator(long[] boundsNs, int cap) {
    this(boundsNs, cap, PeerAddresses.SHARED);
  }

  Aggregator(long[] boundsNs, int cap, PeerAddresses addresses) {
    this.addresses = addresses;
    this.bounds = boundsNs.clone();
    this.cap = cap;
    this.overflow = new Cell(bounds, RowKey.OVERFLOW);
  }

  public long[] bounds() {
    return bounds;
  }

  public void add(RowKey key, long durationNs, boolean responded, long bytesSent, long bytesReceived) {
    addTo(key, key, durationNs, responded, bytesSent, bytesReceived);
  }

  /** As {@link #add}, for the call whose fields {@code probe} holds: no key is made unless the row is new. */
  void add(RowKeyProbe probe, long durationNs, boolean responded, long bytesSent, long bytesReceived) {
    addTo(probe, null, durationNs, responded, bytesSent, bytesReceived);
  }

  /**
   * Adds one call of the row with these fields (the recorder's hot path); returns the row's key,
   * or null when the call went to the overflow row. Only a call of another row than its thread's
   * last one hashes the fields and looks the row up.
   */
  RowKey add(String protocol, String role, boolean ssl, String localIp, int localPort, String peerIp, int peerPort,
      String service, String method, String statusClass, String library, long durationNs, boolean responded,
      long bytesSent, long bytesReceived) {
    int slot = (int) Thread.currentThread().getId() & (RECENT_SLOTS - 1);
    Cell last = recent[slot];
    if (last != null
        && last.key.matches(protocol, role, ssl, localIp, localPort, peerIp, peerPort, service, method, statusClass,
            library)
        && last.add(durationNs, responded, statusClass, bytesSent, bytesReceived)) {
      return last.key;
    }
    RowKeyProbe probe = RowKeyProbe.acquire().set(protocol, role, ssl, localIp, localPort, peerIp, peerPort,
        service, method, statusClass, library);
    try {
      Cell c = addTo(probe, null, durationNs, responded, bytesSent, bytesReceived);
      if (c == overflow) return null;
      recent[slot] = c;
      return c.key;
    } finally {
      probe.release();
    }
  }

  /**
   * {@code lookup} is a RowKey or a RowKeyProbe; {@code key} the RowKey when the caller has one.
   * Returns the cell the call was added to.
   */
  private Cell addTo(Object lookup, RowKey key, long durationNs, boolean responded, long bytesSent,
      long bytesReceived) {
    String statusClass = key != null ? key.statusClass() : ((RowKeyProbe) lookup).statusClass;
    for (int tries = 1; ; tries++) {
      Cell c = cells.get(lookup);
      if (c == null) {
        if (cells.size() >= cap) {
          overflowCalls.incrementAndGet();
          c = overflow;
        } else {
          RowKey k = key != null ? key : ((RowKeyProbe) lookup).toKey();
          c = cells.computeIfAbsent(k, x -> new Cell(bounds, x));
        }
      }
      if (c.add(durationNs, responded, statusClass, bytesSent, bytesReceived)) return c;
      // The flusher is evicting this row right now: it removes it or reopens it within moments.
      if (tries % 16 == 0) Thread.yield();
      else Thread.onSpinWait();
    }
  }

  /** Rows added since the last flush, as a METRICS "rows" array; also returns overflowed calls. */
  public Flush flush(boolean withBytes) {
    StringBuilder rows = new StringBuilder("[");
    int n = 0;
    for (Iterator<Map.Entry<RowKey, Cell>> it = cells.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<RowKey, Cell> e = it.next();
      long[] d = e.getValue().takeDelta();
      if (d == null) {
        // Closing fails while a writer is inside; then the row simply stays another period.
        // Once closed it is removed at once: writers turned away wait for that (see addTo).
        if (++e.getValue().idlePeriods >= EVICT_AFTER_IDLE_PERIODS && e.getValue().close()) {
          cells.remove(e.getKey(), e.getValue());
          long[] last = e.getValue().takeDelta(); // calls that completed since the delta above
          if (last != null) {
            row(rows, e.getKey(), last, withBytes);
            n++;
          }
        }
        continue;
      }
      e.getValue().idlePeriods = 0;
      row(rows, e.getKey(), d, withBytes);
      n++;
    }
    long[] od = overflow.takeDelta();
    if (od != null) {
      row(rows, RowKey.OVERFLOW, od, withBytes);
      n++;
    }
    rows.append(']');
    long oc = overflowCalls.get();
    long overflowed = oc - overflowReported;
    overflowReported = oc;
    return new Flush(rows.toString(), n, overflowed);
  }

  /** The rows JSON, how many rows, and how many calls went to the overflow row. */
  public record Flush(String rowsJson, int rowCount, long overflowedCalls) {}

  public int size() {
    return cells.size();
  }

  /**
   * One row. Addresses advice left empty are filled here, on the reporter thread: a client's peer
   * IP from its host name (HTTP clients only know the URL), and a client's local IP from the
   * route to that peer, so the row names the L4 flow (client ip, server ip, server port).
   */
  private void row(StringBuilder sb, RowKey k, long[] d, boolean withBytes) {
    String peerIp = k.peerIp();
    String localIp = k.localIp();
    if ("client".equals(k.role()) && k != RowKey.OVERFLOW) {
      if (peerIp.isEmpty() && "http".equals(k.protocol())) peerIp = addresses.ipOf(k.service()); // the host
      if (localIp.isEmpty()) localIp = addresses.localIpFor(peerIp);
    }
    if (sb.length() > 1) sb.append(',');
    sb.append('{');
    Json.key(sb, "protocol");
    Json.string(sb, k.protocol());
    Json.key(sb, "role");
    Json.string(sb, k.role());
    Json.key(sb, "ssl").append(k.ssl());
    Json.key(sb, "localIp");
    Json.string(sb, localIp);
    Json.key(sb, "localPort").append(k.localPort());
    Json.key(sb, "peerIp");
    Json.string(sb, peerIp);
    Json.key(sb, "peerPort").append(k.peerPort());
    Json.key(sb, "service");
    Json.string(sb, k.service());
    Json.key(sb, "method");
    Json.string(sb, k.method());
    Json.key(sb, "statusClass");
    Json.string(sb, k.statusClass());
    Json.key(sb, "requests").append(d[Cell.REQUESTS]);
    Json.key(sb, "responses").append(d[Cell.RESPONSES]);
    Json.key(sb, "clientErrors").append(d[Cell.CLIENT_ERRORS]);
    Json.key(sb, "serverErrors").append(d[Cell.SERVER_ERRORS]);
    Json.key(sb, "latencyCounts").append('[');
    for (int i = Cell.BUCKETS; i < d.length; i++) {
      if (i > Cell.BUCKETS) sb.append(',');
      sb.append(d[i]);
    }
    sb.append(']');
    Json.key(sb, "latencySumNs").append(d[Cell.LATENCY_SUM]);
    Json.key(sb, "bytesSent").append(withBytes && d[Cell.SENT_KNOWN] > 0 ? d[Cell.BYTES_SENT] : -1);
    Json.key(sb, "bytesReceived").append(withBytes && d[Cell.RECEIVED_KNOWN] > 0 ? d[Cell.BYTES_RECEIVED] : -1);
    Json.key(sb, "library");
    Json.string(sb, k.library());
    sb.append('}');
  }
}
