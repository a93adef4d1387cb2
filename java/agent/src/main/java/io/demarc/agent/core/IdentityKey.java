package io.demarc.agent.core;

/**
 * A map key that compares a library object by identity, not equals(): library objects may define
 * equality (or hashing) we must not call from advice.
 */
record IdentityKey(Object o) {
  @Override
  public boolean equals(Object other) {
    return other instanceof IdentityKey k && k.o == o;
  }

  @Override
  public int hashCode() {
    return System.identityHashCode(o);
  }
}
