/**
 * Stable codes of the warnings relkd emits (never thrown: the call goes on).
 *
 * - `PROBABILITY_LIKE_LOGITS`: a loss that expects logits got a `[B, C]` input whose every row is
 *   non-negative and sums to 1 (within 1e-3), i.e. probabilities (e.g. a teacher ending in a
 *   softmax). Checked only with `validate: 'full'`, since it reads the data.
 * - `DUPLICATE_TFJS_CORE`: more than one copy of `@tensorflow/tfjs-core` is loaded (e.g. an
 *   application on another tfjs version than relkd's); see {@link checkTfjsCore}.
 */
export type RelkdWarningCode = 'PROBABILITY_LIKE_LOGITS' | 'DUPLICATE_TFJS_CORE';

/** What a {@link RelkdWarningHandler} receives. */
export interface RelkdWarning {
  /** Stable machine-readable code. */
  readonly code: RelkdWarningCode;
  /** `[relkd:CODE] ...`: what was seen, where, and how to fix it. */
  readonly message: string;
  /** Structured context (the function and the argument name). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Receives every relkd warning (see {@link setWarningHandler}). */
export type RelkdWarningHandler = (warning: RelkdWarning) => void;

let handler: RelkdWarningHandler | undefined;
const shown = new Set<string>();

/**
 * Routes relkd's warnings. By default (no handler, or `undefined`) each warning is printed with
 * `console.warn` **once per call site** (the function and argument it concerns) for the life of the
 * process. A handler receives every occurrence instead (no de-duplication), e.g. to collect them in
 * tests or to turn them into errors. Returns the previous handler, so it can be restored.
 *
 * @example
 * ```ts
 * const previous = setWarningHandler((w) => {
 *   if (w.code === 'PROBABILITY_LIKE_LOGITS') throw new Error(w.message);
 * });
 * // ... later
 * setWarningHandler(previous);
 * ```
 */
export function setWarningHandler(
  next: RelkdWarningHandler | undefined,
): RelkdWarningHandler | undefined {
  const previous = handler;
  handler = next;
  return previous;
}

/**
 * Internal: emits a warning. `site` identifies the call site for the default handler's
 * once-per-site de-duplication (e.g. `'kdLoss:teacherLogits'`).
 */
export function emitWarning(
  code: RelkdWarningCode,
  site: string,
  message: string,
  details: Record<string, unknown> = {},
): void {
  const warning: RelkdWarning = { code, message: `[relkd:${code}] ${message}`, details };
  if (handler !== undefined) {
    handler(warning);
    return;
  }
  const key = `${code}:${site}`;
  if (shown.has(key)) return;
  shown.add(key);
  console.warn(warning.message);
}
