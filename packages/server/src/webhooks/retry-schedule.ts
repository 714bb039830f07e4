import { DatongError } from '@datong/core';

/**
 * Delays between delivery attempts after the first, immediate one: 17 h 35 min in total over
 * 7 attempts. It is the start of the example schedule in Standard Webhooks 1.0.0,
 * "Deliverability and reliability", which is also Svix's schedule.
 */
export const DEFAULT_RETRY_SCHEDULE = '5s,5m,30m,2h,5h,10h';

/** Each delay is moved by up to this fraction either way, so failed receivers are not hit in lockstep. */
export const RETRY_JITTER_RATIO = 0.2;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const ITEM = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/**
 * Parses a comma-separated list such as `5s, 5m, 30m, 2h` into milliseconds. Units: ms, s, m, h, d.
 * Throws `CONFIG_INVALID` naming every bad item.
 */
export function parseRetrySchedule(text: string): number[] {
  if (text.trim() === '') {
    throw new DatongError('CONFIG_INVALID', `retry schedule is empty; expected e.g. "${DEFAULT_RETRY_SCHEDULE}"`);
  }
  const delays: number[] = [];
  const problems: string[] = [];
  text.split(',').forEach((raw, index) => {
    const item = raw.trim();
    const match = ITEM.exec(item);
    const amount = match?.[1];
    const unitMs = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
    const ms = amount === undefined || unitMs === undefined ? Number.NaN : Math.round(Number(amount) * unitMs);
    if (Number.isSafeInteger(ms)) {
      delays.push(ms);
    } else {
      problems.push(`item ${index + 1} ${JSON.stringify(item)}`);
    }
  });
  if (problems.length > 0) {
    throw new DatongError(
      'CONFIG_INVALID',
      `retry schedule has invalid ${problems.join(', ')}: each item must be a number followed by ms, s, m, h or d, ` +
        `e.g. "${DEFAULT_RETRY_SCHEDULE}"`,
    );
  }
  return delays;
}

/**
 * The delay in ms before the next attempt, with ±20% jitter, or `null` when the schedule is
 * exhausted and the delivery goes to dead letter.
 *
 * `attemptsSoFar` counts the attempts already made, all failed, including the first immediate
 * one: after attempt 1 fails the delay is `schedule[0]`; after attempt `schedule.length + 1`
 * fails there is none. `random` returns a number in [0, 1) like `Math.random`.
 */
export function nextRetryDelay(
  schedule: readonly number[],
  attemptsSoFar: number,
  random: () => number,
): number | null {
  if (!Number.isSafeInteger(attemptsSoFar) || attemptsSoFar < 1) {
    throw new DatongError('INTERNAL', `attemptsSoFar must be a positive integer, got ${attemptsSoFar}`);
  }
  const base = schedule[attemptsSoFar - 1];
  if (base === undefined) return null;
  const drawn = random();
  // Clamp a misbehaving source (NaN included) so the delay stays inside the jitter band.
  const r = drawn > 1 ? 1 : drawn >= 0 ? drawn : 0;
  return Math.round(base * (1 + RETRY_JITTER_RATIO * (2 * r - 1)));
}
