import { randomFillSync } from 'node:crypto';

// Each crypto.randomBytes(n) call is a round trip into the CSPRNG (~2 µs); the ingest path asks
// for a few small values per event (ids, AES-GCM IVs), which was 6% of the server's CPU at
// 5,700 events/s. Filling a pool once per 4 KiB (as the uuid package does) gives the same
// bytes from the same generator; every byte is handed out once.
const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/**
 * `n` (≤ 4096) fresh random bytes from the pool, as a view that the next call may overwrite
 * after the pool is refilled: copy or encode it at once.
 */
export function pooledRandom(n: number): Buffer {
  if (n > POOL_SIZE) throw new RangeError(`at most ${POOL_SIZE} bytes`);
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}

// Ids want their randomness as hex: a second pool, kept as a hex string, hands out slices of it
// (no Buffer view and no encoding per id). Its bytes are its own, also handed out once.
let hexPool = '';
let hexOffset = 0;

/** `n` (≤ 4096) fresh random bytes from the pool, as 2n lowercase hex characters. */
export function pooledHex(n: number): string {
  if (n > POOL_SIZE) throw new RangeError(`at most ${POOL_SIZE} bytes`);
  if (hexOffset + 2 * n > hexPool.length) {
    hexPool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE)).toString('hex');
    hexOffset = 0;
  }
  const out = hexPool.slice(hexOffset, hexOffset + 2 * n);
  hexOffset += 2 * n;
  return out;
}
