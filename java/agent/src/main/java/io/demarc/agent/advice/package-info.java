/**
 * ByteBuddy advice, inlined into library classes and never loaded by the agent itself (they are
 * referenced by name). Each method is {@code suppress = Throwable.class}: whatever goes wrong in
 * here never reaches the application. Advice only calls {@code io.demarc.agent.core}, which sits
 * on the boot class path and so is visible from every class loader.
 */
package io.demarc.agent.advice;
