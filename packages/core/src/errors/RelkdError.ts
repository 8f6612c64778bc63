/**
 * Stable error codes thrown by relkd. Match on `error.code`, never on the message text.
 *
 * - `SHAPE_MISMATCH`: two inputs that must agree in shape do not.
 * - `RANK_MISMATCH`: an input has the wrong number of dimensions.
 * - `DTYPE_MISMATCH`: an input has the wrong dtype (e.g. labels that are not int32).
 * - `INVALID_OPTION`: an option is out of its documented range or of the wrong type.
 * - `LABEL_OUT_OF_RANGE`: a label is outside `[0, C)` (checked for JS arrays, or with `validate: 'full'`).
 * - `EMPTY_BATCH`: an input has zero rows.
 * - `BACKEND_UNAVAILABLE`: a requested backend cannot be loaded or initialised.
 * - `GRADIENTS_NOT_REGISTERED`: a gradient is being recorded but tfjs-core has no gradients registered.
 * - `NON_FINITE`: an input contains NaN or ±Infinity (checked only with `validate: 'full'`).
 * - `IO_ERROR`: a model or checkpoint cannot be read or written: a missing file, a corrupt
 *   `model.json` or a weights file of the wrong size (`@relkd/layers`' file routers and
 *   `Distiller.save`/`load`); the message names the path.
 * - `DATASET_MISMATCH`: precomputed data (offline teacher outputs) belongs to another data set
 *   than the one being trained on (another name, row order or labels); the message names the file.
 */
export type RelkdErrorCode =
  | 'SHAPE_MISMATCH'
  | 'RANK_MISMATCH'
  | 'DTYPE_MISMATCH'
  | 'INVALID_OPTION'
  | 'LABEL_OUT_OF_RANGE'
  | 'EMPTY_BATCH'
  | 'BACKEND_UNAVAILABLE'
  | 'GRADIENTS_NOT_REGISTERED'
  | 'NON_FINITE'
  | 'IO_ERROR'
  | 'DATASET_MISMATCH';

/**
 * The one error type relkd throws for bad input. It is thrown synchronously, before any kernel
 * runs, and the message names the argument, what was expected, what was given and how to fix it.
 *
 * @example
 * ```ts
 * try {
 *   kdLoss(student, teacher, { temperature: 0 });
 * } catch (e) {
 *   if (e instanceof RelkdError && e.code === 'INVALID_OPTION') console.error(e.message);
 * }
 * ```
 */
export class RelkdError extends Error {
  /** Stable machine-readable code. */
  readonly code: RelkdErrorCode;
  /** Extra structured context (argument name, expected and actual values). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: RelkdErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(`[relkd:${code}] ${message}`);
    this.name = 'RelkdError';
    this.code = code;
    this.details = details;
  }
}

/** Type guard: `true` when `e` is a {@link RelkdError}, optionally with the given code. */
export function isRelkdError(e: unknown, code?: RelkdErrorCode): e is RelkdError {
  return e instanceof RelkdError && (code === undefined || e.code === code);
}
