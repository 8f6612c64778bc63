import { type CaseFactory, kdCase } from './cases';

/** Every benchmarked loss by report name. */
export const CASES: Record<string, CaseFactory> = {
  kd: kdCase,
};
