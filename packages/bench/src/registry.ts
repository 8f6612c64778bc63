/** Every benchmarked loss by report name (see cases.ts). */
export { CASES } from './cases';
