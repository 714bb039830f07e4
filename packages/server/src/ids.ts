import { pooledHex } from './security/random-pool.js';

/** Typed, time-sortable ids: `cus_` + 9 base36 chars of milliseconds + 16 hex chars of randomness. */
export function newId(prefix: string, nowMs: number = Date.now()): string {
  return `${prefix}_${nowMs.toString(36).padStart(9, '0')}${pooledHex(8)}`;
}
