import cliProgress from 'cli-progress';
import { writeLine, type OutStream } from './io.js';

/** Progress of a job measured in bytes. */
export interface ByteProgress {
  update(bytes: number, lines: number): void;
  stop(): void;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i] ?? 'TB'}`;
}

/**
 * A bar on a terminal; on anything else (CI logs, files) one line per 10%, since a redrawn
 * bar would fill a log with carriage returns.
 */
export function createByteProgress(out: OutStream, label: string, total: number): ByteProgress {
  if (total <= 0) return { update: () => undefined, stop: () => undefined };
  if (out.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      {
        stream: out,
        format: `${label} [{bar}] {percentage}% | {done} of {size} | {lines} lines | eta {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { done: formatBytes(0), size: formatBytes(total), lines: 0 });
    // Feeding every line would make the ETA jump about (its buffer would span a few ms).
    const step = Math.max(64 * 1024, Math.floor(total / 500));
    let shown = 0;
    return {
      update(bytes, lines) {
        const done = Math.min(bytes, total);
        if (done - shown < step && done < total) return;
        shown = done;
        bar.update(done, { done: formatBytes(done), lines });
      },
      stop: () => bar.stop(),
    };
  }
  let next = 10;
  return {
    update(bytes, lines) {
      const percent = Math.floor((Math.min(bytes, total) * 100) / total);
      if (percent < next) return;
      writeLine(out, `${label}: ${percent}% (${formatBytes(Math.min(bytes, total))} of ${formatBytes(total)}, ${lines} lines)`);
      next = Math.floor(percent / 10) * 10 + 10;
    },
    stop: () => undefined,
  };
}
