package io.demarc.agent.core;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The bytes of a body written to a Tomcat response (9 to 11) through its writer. Tomcat's own
 * count ({@code getContentWritten}) adds the characters written through the writer to the bytes
 * written through the stream, so a text body that is not ASCII came out short: a CJK character is
 * 3 bytes in UTF-8 and counted one. A response has the writer or the stream, never both (the
 * servlet API), so a writer's body is the bytes the connector has taken (coyote's count), the bytes
 * in Tomcat's byte buffer, and the characters still in its character buffer as the response's
 * charset encodes them: counted where they lie, Tomcat's buffers left as they are.
 *
 * <p>Tomcat's private fields are found once per response class; where they are not (another
 * container or version) the count stays as the container gives it.
 */
final class TomcatBody {
  private static final MethodType OBJECT = MethodType.methodType(Object.class, Object.class);
  private static final MethodType LONG = MethodType.methodType(long.class, Object.class);

  /** Getters along ResponseFacade → Response → OutputBuffer, and from there the counts and buffers. */
  private record Access(MethodHandle response, MethodHandle outputBuffer, MethodHandle charsWritten,
      MethodHandle byteBuffer, MethodHandle charBuffer, MethodHandle converter, MethodHandle charset,
      MethodHandle coyote, MethodHandle coyoteWritten) {}

  /** The access of a response class; Optional-like: {@link #NONE} when it is not Tomcat's. */
  private static final Access NONE = new Access(null, null, null, null, null, null, null, null, null);
  private static final ClassValue<Access> ACCESS = new ClassValue<>() {
    @Override
    protected Access computeValue(Class<?> type) {
      return find(type);
    }
  };
  /** The characters written through a response's writer: facade → response → output buffer. */
  private static final Reflect CHARS_WRITTEN = Reflect.longGetter("Tomcat's charsWritten", type -> {
    Access a = ACCESS.get(type);
    if (a == NONE) return null;
    return MethodHandles.filterReturnValue(MethodHandles.filterReturnValue(a.response, a.outputBuffer),
        a.charsWritten);
  });
  /** Charsets that encode every character as one byte (ISO-8859-1, US-ASCII, windows-1252...). */
  private static final ConcurrentHashMap<Charset, Boolean> SINGLE_BYTE = new ConcurrentHashMap<>();

  private TomcatBody() {}

  /**
   * The body bytes of {@code response} so far, where {@code counted} is Tomcat's count: that count
   * when no character went through the writer (or this is not Tomcat), else the bytes the
   * characters encode to.
   */
  static long bytes(Object response, long counted) {
    // A stream's body (no character through the writer): Tomcat's count is its bytes. The usual
    // case, answered by the inline cache, with no table looked up.
    if (CHARS_WRITTEN.callLong(response, 0) == 0) return counted;
    Access a = ACCESS.get(response.getClass());
    if (a == NONE) return counted;
    try {
      Object out = (Object) a.outputBuffer.invokeExact((Object) a.response.invokeExact(response));
      Object converter = (Object) a.converter.invokeExact(out);
      Charset cs = converter == null ? null : (Charset) (Object) a.charset.invokeExact(converter);
      if (cs == null) return counted;
      long taken = (long) a.coyoteWritten.invokeExact((Object) a.coyote.invokeExact(out));
      ByteBuffer pendingBytes = (ByteBuffer) (Object) a.byteBuffer.invokeExact(out);
      CharBuffer pendingChars = (CharBuffer) (Object) a.charBuffer.invokeExact(out);
      return taken + pendingBytes.remaining() + encodedLength(pendingChars, cs);
    } catch (Throwable t) {
      Recorder.internalError(t);
      return counted;
    }
  }

  /** The bytes {@code chars} (its remaining ones: Tomcat keeps its buffers in read mode) encode to in {@code cs}. */
  static long encodedLength(CharBuffer chars, Charset cs) {
    int n = chars.remaining();
    if (n == 0) return 0;
    if (cs.equals(StandardCharsets.UTF_8) && chars.hasArray()) {
      return utf8Length(chars.array(), chars.arrayOffset() + chars.position(), n);
    }
    if (SINGLE_BYTE.computeIfAbsent(cs, c -> c.canEncode() && c.newEncoder().maxBytesPerChar() == 1f)) return n;
    try { // another multi-byte charset (GBK, Shift_JIS, UTF-16...): encoded once more, rare
      return cs.newEncoder().encode(chars.duplicate()).remaining();
    } catch (CharacterCodingException | RuntimeException e) {
      return n;
    }
  }

  /** UTF-8's length of {@code n} chars from {@code from}: 1 to 3 bytes a char, 4 a surrogate pair. */
  static long utf8Length(char[] a, int from, int n) {
    long bytes = n;
    int end = from + n;
    for (int i = from; i < end; i++) {
      char c = a[i];
      if (c < 0x80) continue;
      if (c < 0x800) {
        bytes += 1;
      } else if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(a[i + 1])) {
        bytes += 2; // the pair: 4 bytes for 2 chars
        i++;
      } else {
        bytes += 2;
      }
    }
    return bytes;
  }

  private static Access find(Class<?> facade) {
    try {
      Field response = field(facade, "response");
      Field outputBuffer = field(response.getType(), "outputBuffer");
      Class<?> buffer = outputBuffer.getType();
      Field converter = field(buffer, "conv");
      Field coyote = field(buffer, "coyoteResponse");
      MethodHandles.Lookup pub = MethodHandles.publicLookup();
      return new Access(getter(response, OBJECT), getter(outputBuffer, OBJECT),
          getter(field(buffer, "charsWritten"), LONG), getter(field(buffer, "bb"), OBJECT),
          getter(field(buffer, "cb"), OBJECT), getter(converter, OBJECT),
          pub.findVirtual(converter.getType(), "getCharset", MethodType.methodType(Charset.class)).asType(OBJECT),
          getter(coyote, OBJECT),
          pub.findVirtual(coyote.getType(), "getContentWritten", MethodType.methodType(long.class)).asType(LONG));
    } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
      return NONE; // not Tomcat's classes, or not these fields
    }
  }

  /** The field declared by {@code type} or a superclass. */
  private static Field field(Class<?> type, String name) throws NoSuchFieldException {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      try {
        return c.getDeclaredField(name);
      } catch (NoSuchFieldException e) {
        // a superclass may declare it
      }
    }
    throw new NoSuchFieldException(type.getName() + "." + name);
  }

  /** A getter for a private field, typed {@code type} for invokeExact. */
  private static MethodHandle getter(Field f, MethodType type) throws IllegalAccessException {
    // Tomcat's classes are in an unnamed module, which opens every package.
    return MethodHandles.privateLookupIn(f.getDeclaringClass(), MethodHandles.lookup()).unreflectGetter(f)
        .asType(type);
  }
}
