import { GIVEN_NAMES, MOBILE_PREFIXES, SURNAMES } from './catalog.js';
import { createRng, type Rng } from './random.js';
import type { MallAccount, Shopper, SimPlatform } from './model.js';

/**
 * The simulated shoppers, from a seed alone (no clock, no I/O): the same seed gives the same
 * people on every run, so a second run's orders land on the customers of the first.
 */

export interface PopulationOptions {
  readonly seed: string;
  readonly shoppers: number;
  /** Platforms in use; accounts are only made on these. */
  readonly platforms: readonly SimPlatform[];
  /**
   * Share of Youzan and Taobao accounts whose orders give the shopper's own number in clear, so
   * OneID merges them with the mall by phone. The others show it masked (138****5678), or use
   * another of the shopper's numbers. Default 0.6.
   */
  readonly sharedPhoneRate?: number;
}

/** How often a shopper has an account where. Chosen so that most shoppers use two or more. */
const ACCOUNT_RATES: Readonly<Record<SimPlatform, number>> = { mall: 0.75, youzan: 0.35, taobao: 0.4, doudian: 0.3, meituan: 0.25 };
/** Of the mall users: bound to the brand's WeChat open platform (unionid), and giving their phone. */
const UNIONID_RATE = 0.6;
const GIVES_PHONE_RATE = 0.8;
/** Of those with a unionid: also use the member-centre mini-program. */
const MEMBER_CENTRE_RATE = 0.4;
/** Of the platform accounts that do not share the main phone in clear: those using another number (in clear). */
const OTHER_NUMBER_RATE = 0.25;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const B64URL = `${ALNUM}-_`;
const B64 = `${ALNUM}+/`;

function mobile(rng: Rng, taken: Set<string>): string {
  for (;;) {
    const national = `${rng.pick(MOBILE_PREFIXES)}${rng.chars('0123456789', 8)}`;
    const e164 = `+86${national}`;
    if (!taken.has(e164)) {
      taken.add(e164);
      return e164;
    }
  }
}

/** How a person types their number into a form. */
function typed(rng: Rng, e164: string): string {
  const n = e164.slice(3);
  return rng.pick([n, `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`, `+86 ${n}`, `${n.slice(0, 3)}-${n.slice(3, 7)}-${n.slice(7)}`, `0086${n}`]);
}

export function createPopulation(options: PopulationOptions): Shopper[] {
  const rng = createRng(`datong-simulate:${options.seed}:population`);
  const shared = options.sharedPhoneRate ?? 0.6;
  const on = new Set(options.platforms);
  const phones = new Set<string>();
  const out: Shopper[] = [];
  for (let index = 0; index < options.shoppers; index++) {
    // Every random draw happens whatever the platforms, so a shopper is the same person with
    // --platforms mall,youzan as with all five.
    const name = `${rng.pick(SURNAMES)}${rng.pick(GIVEN_NAMES)}`;
    const phone = mobile(rng, phones);
    const has = Object.fromEntries((['mall', 'youzan', 'taobao', 'doudian', 'meituan'] as const).map((p) => [p, rng.chance(ACCOUNT_RATES[p])])) as Record<
      SimPlatform,
      boolean
    >;
    const unionid = rng.chance(UNIONID_RATE) ? `o6_bm${rng.chars(B64URL, 23)}` : undefined;
    const mall: MallAccount = {
      memberId: `M${String(100000 + index)}`,
      anonymousId: `anon-${rng.chars('0123456789abcdef', 8)}-${rng.chars('0123456789abcdef', 4)}-${rng.chars('0123456789abcdef', 12)}`,
      openid: `oPw1p${rng.chars(B64URL, 23)}`,
      givesPhone: rng.chance(GIVES_PHONE_RATE),
      typedPhone: typed(rng, phone),
      ...(unionid !== undefined && rng.chance(MEMBER_CENTRE_RATE) ? { memberCentreOpenid: `oMc7x${rng.chars(B64URL, 23)}` } : {}),
    };
    const phoneAccount = (): { phone: string; phoneInClear: boolean } => {
      if (rng.chance(shared)) return { phone, phoneInClear: true };
      return rng.chance(OTHER_NUMBER_RATE) ? { phone: mobile(rng, phones), phoneInClear: true } : { phone, phoneInClear: false };
    };
    const youzan = { ...phoneAccount(), openId: `Lnh${rng.chars(ALNUM, 5)}${rng.digits(18)}` };
    const taobao = { ...phoneAccount(), openUid: `AAF${rng.chars(ALNUM, 21)}`, nick: `${rng.chars('abcdefghijklmnopqrstuvwxyz', 1)}**${rng.int(0, 9)}` };
    const doudian = { openId: `1@#${rng.chars(B64, 56)}==` };
    const meituan = { userId: rng.digits(10) };

    // Nobody is left without any account in use.
    const inUse = (p: SimPlatform): boolean => on.has(p) && has[p];
    if (!(['mall', 'youzan', 'taobao', 'doudian', 'meituan'] as const).some(inUse)) {
      const first = options.platforms[index % Math.max(1, options.platforms.length)];
      if (first !== undefined) has[first] = true;
    }
    out.push({
      index,
      name,
      phone,
      ...(unionid !== undefined && inUse('mall') ? { unionid } : {}),
      ...(inUse('mall') ? { mall: unionid === undefined ? withoutMemberCentre(mall) : mall } : {}),
      ...(inUse('youzan') ? { youzan } : {}),
      ...(inUse('taobao') ? { taobao } : {}),
      ...(inUse('doudian') ? { doudian } : {}),
      ...(inUse('meituan') ? { meituan } : {}),
    });
  }
  return out;
}

function withoutMemberCentre(m: MallAccount): MallAccount {
  const { memberCentreOpenid: _omit, ...rest } = m;
  return rest;
}

/** The shoppers that have an account on `platform`. */
export function shoppersOn(population: readonly Shopper[], platform: SimPlatform): Shopper[] {
  return population.filter((s) => s[platform] !== undefined);
}

/** The masked form platforms show (138****5678). */
export function maskPhone(e164: string): string {
  const n = e164.replace(/^\+86/, '');
  return `${n.slice(0, 3)}****${n.slice(7)}`;
}
