import { RelkdError } from '@relkd/core';
import type { BackendName } from '../backendTypes';
import { LABELS, PACKAGES } from './packages';
import type { RouteId, Unavailable } from './route';

export function unavailableError(
  requested: BackendName,
  node: boolean,
  failures: { candidate: RouteId; error: Unavailable }[],
): RelkdError {
  const where = node ? 'Node.js' : 'this browser';
  const lines = failures.map(({ candidate, error }) => {
    const text = `${LABELS[candidate]} (${PACKAGES[candidate]}): ${error.message}`;
    return /[.)]$/.test(text) ? text : `${text}.`;
  });
  const head =
    requested === 'auto'
      ? `useBackend('auto'): no backend could be used in ${where}.`
      : `useBackend('${requested}'): the backend is unavailable in ${where}.`;
  const tail =
    requested === 'auto'
      ? ` Install and import ${PACKAGES.cpu} (always works) or ${PACKAGES.wasm}.`
      : requested === 'cpu'
        ? ''
        : ` Or call useBackend('auto') to fall back to the best available backend.`;
  const first = failures[0];
  return new RelkdError('BACKEND_UNAVAILABLE', `${head} ${lines.join(' ')}${tail}`, {
    requested,
    packages: failures.map((f) => PACKAGES[f.candidate]),
    reasons: failures.map((f) => f.error.kind),
    ...(first ? { package: PACKAGES[first.candidate], reason: first.error.kind } : {}),
  });
}
