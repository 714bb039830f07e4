/**
 * Token buckets for platform API calls: one bucket per connector and per API (platforms meter
 * each API separately, e.g. Taobao TOP's per-app per-API call quotas). Pure arithmetic plus a
 * small limiter around it; time comes in through `now`, so tests control it.
 */

export interface BucketSpec {
  /** Tokens the bucket holds at most (the burst). */
  readonly capacity: number;
  /** Tokens added per second. */
  readonly refillPerSecond: number;
}

export interface BucketState {
  readonly tokens: number;
  /** When `tokens` was last computed, ms since the epoch. */
  readonly at: number;
  /** No token is handed out before this time (a platform said to back off). */
  readonly blockedUntil: number;
}

/** Floating-point slack when comparing a refilled bucket with one token. */
const TOKEN_EPSILON = 1e-9;

export function fullBucket(spec: BucketSpec, now: number): BucketState {
  return { tokens: spec.capacity, at: now, blockedUntil: 0 };
}

/** The state at `now`: tokens refilled for the time passed, never above capacity. */
export function refill(state: BucketState, spec: BucketSpec, now: number): BucketState {
  if (now <= state.at) return state;
  const tokens = Math.min(spec.capacity, state.tokens + ((now - state.at) / 1000) * spec.refillPerSecond);
  return { tokens, at: now, blockedUntil: state.blockedUntil };
}

export type TakeResult = { readonly ok: true; readonly state: BucketState } | { readonly ok: false; readonly state: BucketState; readonly waitMs: number };

/**
 * Takes one token at `now` if there is one; otherwise says how long to wait until there is
 * (and the state is unchanged but refilled).
 */
export function takeToken(state: BucketState, spec: BucketSpec, now: number): TakeResult {
  const s = refill(state, spec, now);
  if (now < s.blockedUntil) return { ok: false, state: s, waitMs: s.blockedUntil - now };
  // Within a rounding error of a whole token counts as one: refilling for exactly the wait we
  // handed out can land on 0.9999999999 (found by the property test: capacity 1, 0.1/s).
  if (s.tokens >= 1 - TOKEN_EPSILON) return { ok: true, state: { ...s, tokens: s.tokens - 1 } };
  const waitMs = Math.max(1, Math.ceil(((1 - s.tokens) / spec.refillPerSecond) * 1000));
  return { ok: false, state: s, waitMs };
}

/** After a throttle answer from the platform: no tokens until `now + ms`, and the bucket emptied. */
export function blockBucket(state: BucketState, spec: BucketSpec, now: number, ms: number): BucketState {
  const s = refill(state, spec, now);
  return { tokens: 0, at: s.at, blockedUntil: Math.max(s.blockedUntil, now + ms) };
}

export interface RateLimiterDeps {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface RateLimiter {
  /** Waits for a token of `api`'s bucket (pass it to a client as `ClientDeps.rateLimit`). */
  take(api: string): Promise<void>;
  /** The platform throttled `api`: hand out no token for `ms`. */
  block(api: string, ms: number): void;
  /** Tokens left in `api`'s bucket now (for status pages and tests). */
  available(api: string): number;
}

/** A limiter with one bucket per API name, created full on first use. */
export function createRateLimiter(spec: BucketSpec, deps: RateLimiterDeps): RateLimiter {
  if (!(spec.capacity >= 1) || !(spec.refillPerSecond > 0)) throw new RangeError('a bucket needs capacity >= 1 and refillPerSecond > 0');
  const buckets = new Map<string, BucketState>();
  const stateOf = (api: string, now: number): BucketState => buckets.get(api) ?? fullBucket(spec, now);
  return {
    async take(api) {
      for (;;) {
        const now = deps.now();
        const r = takeToken(stateOf(api, now), spec, now);
        buckets.set(api, r.state);
        if (r.ok) return;
        await deps.sleep(r.waitMs);
      }
    },
    block(api, ms) {
      const now = deps.now();
      buckets.set(api, blockBucket(stateOf(api, now), spec, now, ms));
    },
    available(api) {
      const now = deps.now();
      const s = refill(stateOf(api, now), spec, now);
      return now < s.blockedUntil ? 0 : Math.floor(s.tokens);
    },
  };
}
