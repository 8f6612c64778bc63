/** Where a progress bar writes (`process.stdout`-like). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Options of the progress bar `Distiller.fit` draws (`FitOptions.progress`). */
export interface ProgressOptions {
  /** Stream to write to. Default `process.stderr` in Node, `console.log` lines elsewhere. */
  stream?: ProgressStream;
  /** Text in front of the bar (e.g. the run's name). */
  label?: string;
  /** Bar width in characters. Default 24. */
  width?: number;
}

function defaultStream(): ProgressStream {
  const proc = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  if (proc?.stderr !== undefined) return proc.stderr;
  return { write: (s: string) => console.log(s.replace(/\n$/, '')), isTTY: false };
}

/** `93s` -> `1:33`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function formatParts(parts: Record<string, number>): string {
  return Object.entries(parts)
    .map(
      ([k, v]) =>
        `${k} ${Math.abs(v) >= 100 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4)}`,
    )
    .join(' · ');
}

/**
 * A terminal progress bar with ETA and running loss parts. On a TTY it redraws one line with
 * `\r`; otherwise it prints one plain line per epoch (no control characters), so logs stay clean.
 */
export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly label: string;
  private readonly width: number;
  private readonly tty: boolean;
  private lastDraw = 0;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? defaultStream();
    this.label = options.label ?? '';
    this.width = options.width ?? 24;
    this.tty = this.stream.isTTY === true;
  }

  /** Redraws the bar (TTY only; at most every 100 ms unless `force`). */
  update(
    epoch: number,
    epochs: number,
    done: number,
    total: number,
    elapsedSeconds: number,
    parts: Record<string, number>,
    force = false,
  ): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(frac * this.width);
    const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (frac < 1 ? '>' : '=') : ''}${' '.repeat(this.width - filled)}`;
    const eta = done > 0 ? (elapsedSeconds / done) * (total - done) : Number.NaN;
    let line = `${this.label ? `${this.label} ` : ''}epoch ${epoch}/${epochs} [${bar}] ${done}/${total} ETA ${formatDuration(eta)} ${formatParts(parts)}`;
    const cols = this.stream.columns ?? 120;
    if (line.length > cols - 1) line = line.slice(0, cols - 1);
    this.stream.write(`\r\x1b[2K${line}`);
  }

  /** Ends an epoch: a final line (TTY: the bar is replaced by the summary). */
  endEpoch(
    epoch: number,
    epochs: number,
    seconds: number,
    parts: Record<string, number>,
    extra = '',
  ): void {
    const line = `${this.label ? `${this.label} ` : ''}epoch ${epoch}/${epochs} ${formatDuration(seconds)} ${formatParts(parts)}${extra ? ` · ${extra}` : ''}`;
    this.stream.write(this.tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}
