/**
 * The time left in a pool of `workers` running jobs of known relative cost: each finished job's
 * own duration per unit of cost, times the cost not yet finished, spread over the workers. The
 * pool starts the costliest jobs first, so a plain mean over the first finished jobs would
 * overstate the time left several times.
 *
 * @example
 * ```ts
 * const left = new TimeLeft([2.7, 2.7, 1, 1], 2);
 * left.finish(2.7, 54); // a 2.7-cost job took 54 s
 * left.seconds(); // (54 / 2.7) · (2.7 + 1 + 1) / 2 = 47 s
 * ```
 */
export class TimeLeft {
  private costLeft: number;
  private costDone = 0;
  private secondsDone = 0;

  /** `costs`: every job's relative cost; `workers`: how many run at once (at least 1). */
  constructor(
    costs: readonly number[],
    private readonly workers: number,
  ) {
    this.costLeft = costs.reduce((a, c) => a + c, 0);
  }

  /** Records a finished job of `cost` that ran `seconds`. */
  finish(cost: number, seconds: number): void {
    this.costLeft -= cost;
    this.costDone += cost;
    this.secondsDone += seconds;
  }

  /** The estimated seconds until every job has finished (0 once they have; NaN before any). */
  seconds(): number {
    if (this.costLeft <= 1e-9) return 0;
    return ((this.secondsDone / this.costDone) * this.costLeft) / Math.max(1, this.workers);
  }
}
