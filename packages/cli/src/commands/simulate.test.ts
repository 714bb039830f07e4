import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig, startDatong, type Datong } from '@datong/server';
import { MALL_APP_ID, MEMBER_APP_ID, SIM_PLATFORMS, type SimPlatform } from '../simulate/model.js';
import { createPopulation } from '../simulate/population.js';
import { cli, makeTempDir, removeDir, TEST_ADMIN_KEY, testEnv, type CliRun } from '../test-support/cli-harness.js';
import { parseDuration, parsePlatforms, parseSimulateOptions } from './simulate.js';

/*
 * `datong simulate` against a real Datong started in this process (embedded database, workers
 * on, TMC pulled every second): every platform's traffic is accepted, the workers drain it,
 * shoppers who gave the same phone to the mall and to Youzan/Tmall are one customer with the
 * orders of both, and redelivered or reordered messages change nothing twice.
 */

const SEED = 'sim-test';
const SHOPPERS = 30;
const EVENTS = 600;
const ALL: readonly SimPlatform[] = SIM_PLATFORMS;

interface Row {
  sent: number;
  orders: number;
  duplicates: number;
  late: number;
  accepted: number;
  rejected: number;
}

function tableRow(stdout: string, name: string): Row | undefined {
  const m = new RegExp(`^ {2}${name}\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)$`, 'm').exec(stdout);
  if (!m) return undefined;
  const [sent, orders, duplicates, late, accepted, rejected] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return { sent, orders, duplicates, late, accepted, rejected };
}

async function waitFor(what: string, check: () => Promise<boolean>, rounds = 240): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('datong simulate (argument checks)', () => {
  it('parses durations, platforms and the rest, and explains what is wrong', () => {
    expect(parseDuration('60s', '--duration')).toBe(60_000);
    expect(parseDuration('2m', '--duration')).toBe(120_000);
    expect(parseDuration('1.5', '--duration')).toBe(1500);
    expect(() => parseDuration('soon', '--duration')).toThrow(/--duration must be a duration/);
    expect(parsePlatforms('mall, Taobao,mall')).toEqual(['mall', 'taobao']);
    expect(() => parsePlatforms('mall,jd')).toThrow(/unknown: jd/);
    const base = { url: 'http://127.0.0.1:3000', apiKey: 'k', rate: '20', shoppers: '500', platforms: 'mall', seed: '1', duplicates: '0.05', outOfOrder: '0.05', drainTimeout: '60s', concurrency: '16' };
    expect(parseSimulateOptions({ ...base, duration: '60s' })).toMatchObject({ rate: 20, durationMs: 60_000, platforms: ['mall'], duplicates: 0.05 });
    expect(() => parseSimulateOptions({ ...base, duration: '60s', events: '10' })).toThrow(/not both/);
    expect(() => parseSimulateOptions({ ...base, duplicates: '1.5' })).toThrow(/--duplicates must be a number from 0 to 1/);
    expect(() => parseSimulateOptions({ ...base, url: 'localhost' })).toThrow(/--url/);
  });

  it('needs an admin API key, and says so without touching anything', async () => {
    const r = await cli({}, ['simulate', '--events', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("required option '--api-key <key>' not specified");
  });

  it('says when Datong is not there', async () => {
    // Port 9 (discard) on the loopback: nothing listens there in a test environment.
    const r = await cli({}, ['simulate', '--api-key', 'k', '--url', 'http://127.0.0.1:9', '--events', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^datong: Datong did not answer at http:\/\/127\.0\.0\.1:9 \(.+\)\. Is it running\? \(npm start\)\n$/);
  });
});

describe('datong simulate (against a running Datong)', () => {
  let dir = '';
  let datong: Datong | null = null;
  let url = '';
  let run: CliRun;

  beforeAll(async () => {
    dir = makeTempDir();
    const env = testEnv(dir, { DATONG_CONNECTOR_POLL_MS: '1000' });
    datong = await startDatong({ config: loadConfig(env).config, logger: createLogger('silent') });
    url = await datong.app.listen({ host: '127.0.0.1', port: 0 });
    run = await cli(env, [
      'simulate',
      '--url',
      url,
      '--api-key',
      TEST_ADMIN_KEY,
      '--events',
      String(EVENTS),
      '--rate',
      '200',
      '--shoppers',
      String(SHOPPERS),
      '--seed',
      SEED,
      '--run-id',
      't1',
      '--duplicates',
      '0.1',
      '--out-of-order',
      '0.1',
      '--drain-timeout',
      '180s',
    ]);
    // The simulator waited for the platform messages; the inbox they fed is processed right after.
    const db = datong.db;
    await waitFor('the inbox to drain', async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox WHERE status = 0')).rows[0]?.n === 0);
  });

  afterAll(async () => {
    await datong?.close();
    removeDir(dir);
  });

  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
    expect(r.status).toBe(200);
    return (await r.json()) as T;
  };

  it('sets up a source and a connector per platform, and every delivery is accepted', () => {
    expect(run.stderr).not.toContain('unexpected error');
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/created mall source \(Segment \/v1\/batch\) src_/);
    for (const p of ['youzan', 'taobao', 'doudian', 'meituan']) expect(run.stderr).toMatch(new RegExp(`created ${p} connector con_`));
    const total = tableRow(run.stdout, 'total');
    expect(total?.sent).toBe(EVENTS);
    expect(total?.accepted).toBe(EVENTS);
    expect(total?.rejected).toBe(0);
    expect(total?.duplicates).toBeGreaterThan(10);
    expect(total?.late).toBeGreaterThan(3);
    for (const p of ALL) expect(tableRow(run.stdout, p)?.sent).toBeGreaterThan(0);
    expect(run.stdout).toContain('Datong took every message the fake platforms held and processed its platform messages.');
    expect(run.stdout).toMatch(/taobao: \d+ TMC messages queued; Datong pulled and confirmed \d+, 0 still queued/);
    expect(run.stdout).toContain('connectors are disabled now that their fake platforms are stopped');
  });

  it('stores each order once, whatever was delivered twice or late', async () => {
    const db = datong?.db;
    if (!db) throw new Error('no datong');
    const orders = await db.query<{ platform: string; n: number }>('SELECT platform, count(*)::int AS n FROM orders GROUP BY platform');
    const stored = Object.fromEntries(orders.rows.map((r) => [r.platform, r.n]));
    for (const p of ['youzan', 'taobao', 'doudian', 'meituan']) expect(stored[p] ?? 0).toBe(tableRow(run.stdout, p)?.orders);
    // One purchase event per order and one refund event per refund, though messages came twice.
    const doubled = await db.query(
      `SELECT coalesce(properties->>'refund_id', properties->>'order_id') AS id, event, count(*)::int AS n FROM events
       WHERE event IN ('Order Completed', 'Order Refunded', 'Order Shipped', 'Order Cancelled') GROUP BY 1, 2 HAVING count(*) > 1`,
    );
    expect(doubled.rows).toEqual([]);
    const completed = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE event = 'Order Completed' AND properties ? 'platform'`);
    const flagged = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM orders WHERE completed_event');
    expect(completed.rows[0]?.n).toBe(flagged.rows[0]?.n);
    expect(flagged.rows[0]?.n).toBeGreaterThan(5);
    // Forward only: no order went back to an earlier state.
    const back = await db.query(
      `SELECT h.order_id FROM order_status_history h WHERE h.from_status IS NOT NULL AND
         array_position(ARRAY['created','paid','shipped','completed','cancelled','closed'], h.to_status) <
         array_position(ARRAY['created','paid','shipped','completed','cancelled','closed'], h.from_status)`,
    );
    expect(back.rows).toEqual([]);
    // Every platform message the log holds was processed (none failed or waits).
    const open = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM connector_messages WHERE status NOT IN ('processed', 'ignored')`);
    expect(open.rows[0]?.n).toBe(0);
  });

  it('keeps the fake platforms up until Datong fetched what thin pushes left out (Douyin buyers and amounts)', async () => {
    const db = datong?.db;
    if (!db) throw new Error('no datong');
    // Douyin pushes carry no buyer: Datong asks the fake's order API, and only then writes the purchase.
    const missing = await db.query(
      `SELECT o.order_id FROM orders o WHERE o.platform = 'doudian' AND o.status IN ('paid', 'shipped', 'completed')
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event = 'Order Completed' AND e.properties->>'order_id' = o.order_id)`,
    );
    expect(missing.rows).toEqual([]);
    const douyin = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE event = 'Order Completed' AND properties->>'platform' = 'doudian'`);
    expect(douyin.rows[0]?.n).toBeGreaterThan(0);
  });

  it('merges a shopper’s mall profile and platform orders by phone into one customer', async () => {
    const population = createPopulation({ seed: SEED, shoppers: SHOPPERS, platforms: ALL });
    let merged = 0;
    for (const s of population) {
      if (!s.mall?.givesPhone) continue;
      const linked = [s.youzan, s.taobao].filter((a) => a?.phoneInClear === true && a.phone === s.phone);
      if (linked.length === 0) continue;
      const r = await fetch(`${url}/v1/customers/lookup?type=phone&value=${encodeURIComponent(s.phone)}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      if (r.status === 404) continue;
      const customer = (await r.json()) as { id: string; identities: { type: string; value: string; collection?: string | null }[] };
      const timeline = await api<{ data: { event: string | null; source: { type: string | null }; properties: Record<string, unknown> }[] }>(
        `/v1/customers/${customer.id}/timeline?limit=200`,
      );
      const orderSources = new Set(timeline.data.filter((e) => e.event === 'Order Completed').map((e) => e.source.type));
      const types = new Set(customer.identities.map((i) => i.type));
      if (orderSources.size >= 2 && types.has('wechat_openid')) {
        merged++;
        // The identities of every system the shopper used, on one customer.
        expect(types.has('phone')).toBe(true);
        expect(types.has('youzan_open_id') || types.has('taobao_open_uid')).toBe(true);
      }
    }
    expect(merged).toBeGreaterThan(0);
  });

  it('keeps apart what nothing links, and links the two mini-programs by unionid', async () => {
    const population = createPopulation({ seed: SEED, shoppers: SHOPPERS, platforms: ALL });
    const lookup = async (type: string, value: string, collection?: string): Promise<string | null> => {
      const q = new URLSearchParams({ type, value, ...(collection ? { collection } : {}) });
      const r = await fetch(`${url}/v1/customers/lookup?${q.toString()}`, { headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      return r.status === 200 ? ((await r.json()) as { id: string }).id : null;
    };
    let apart = 0;
    let unionLinked = 0;
    for (const s of population) {
      // Douyin and Meituan never give a usable phone: their buyers are their own customers.
      if (s.meituan) {
        const m = await lookup('meituan_user_id', s.meituan.userId);
        const p = await lookup('phone', s.phone);
        if (m && p) {
          expect(m).not.toBe(p);
          apart++;
        }
      }
      if (s.mall?.memberCentreOpenid) {
        const a = await lookup('wechat_openid', s.mall.openid, MALL_APP_ID);
        const b = await lookup('wechat_openid', s.mall.memberCentreOpenid, MEMBER_APP_ID);
        if (a && b) {
          expect(b).toBe(a);
          unionLinked++;
        }
      }
    }
    expect(apart).toBeGreaterThan(0);
    expect(unionLinked).toBeGreaterThan(0);
  });
});
