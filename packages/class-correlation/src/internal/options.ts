import { RelkdError } from '@relkd/core';
import { assertNumber, assertOneOf } from '@relkd/core/internal';

/** How a class-correlation matrix is normalised (see {@link classCorrelation}). */
export type CorrelationNormalize = 'batch' | 'frobenius' | 'none';

export const NORMALIZATIONS: readonly CorrelationNormalize[] = ['batch', 'frobenius', 'none'];

/** Throws `INVALID_OPTION` unless `options` is undefined or a plain object. */
export function assertOptionsObject(options: unknown, name = 'options'): void {
  if (
    options !== undefined &&
    (options === null || typeof options !== 'object' || Array.isArray(options))
  ) {
    throw new RelkdError(
      'INVALID_OPTION',
      `\`${name}\` must be an object, got ${options === null ? 'null' : typeof options}.`,
      {
        name,
      },
    );
  }
}

/** A temperature option: finite and > 0. */
export function assertTemperature(value: unknown, name: string): asserts value is number {
  assertNumber(value, name, { min: 0, exclusiveMin: true });
}

/** A loss weight option: finite and >= 0. */
export function assertWeight(value: unknown, name: string): asserts value is number {
  assertNumber(value, name, { min: 0 });
}

export function assertNormalize(
  value: unknown,
  name: string,
): asserts value is CorrelationNormalize {
  assertOneOf(value, NORMALIZATIONS, name);
}
