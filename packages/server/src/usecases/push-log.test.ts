import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../test-support/harness.js';
import { PushLog, type NewMessage } from './connector-messages.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const push = (id: string, verification: NewMessage['verification'] = 'valid'): NewMessage[] => [
  { messageId: id, type: 'trade_paid', channel: 'push', verification, payload: { messageId: id, type: 'trade_paid', payload: { id } } },
];

async function stored(connectorId: string): Promise<{ message_id: string; status: string; received_at: string }[]> {
  const r = await h.db.query<{ message_id: string; status: string; received_at: Date | string }>(
    'SELECT message_id, status, received_at FROM connector_messages WHERE connector_id = $1 ORDER BY message_id',
    [connectorId],
  );
  return r.rows.map((x) => ({ message_id: x.message_id, status: x.status, received_at: new Date(x.received_at).toISOString() }));
}

describe('PushLog (platform pushes, group commit)', () => {
  it('stores concurrent pushes in shared transactions, each with its own received_at, and notes the connector once', async () => {
    const log = new PushLog(h.db, h.datong.deps.keyring, { concurrency: 1, maxMessages: 500 });
    const t = (ms: number) => new Date(Date.UTC(2026, 10, 22, 8, 0, 0, ms));
    await Promise.all([log.store('ten_default', 'con_a', push('a-1'), t(1)), log.store('ten_default', 'con_a', push('a-2'), t(2)), log.store('ten_default', 'con_b', push('b-1'), t(3))]);
    expect(await stored('con_a')).toEqual([
      { message_id: 'a-1', status: 'pending', received_at: t(1).toISOString() },
      { message_id: 'a-2', status: 'pending', received_at: t(2).toISOString() },
    ]);
    expect(await stored('con_b')).toEqual([{ message_id: 'b-1', status: 'pending', received_at: t(3).toISOString() }]);
    const state = await h.db.query<{ connector_id: string; channel: string; last_valid_push_at: Date | string }>(
      "SELECT connector_id, channel, last_valid_push_at FROM connector_state WHERE connector_id IN ('con_a', 'con_b') ORDER BY connector_id",
    );
    expect(state.rows.map((r) => [r.connector_id, r.channel, new Date(r.last_valid_push_at).toISOString()])).toEqual([
      ['con_a', 'push', t(2).toISOString()],
      ['con_b', 'push', t(3).toISOString()],
    ]);
  });

  it('stores a push that arrives twice once', async () => {
    const log = new PushLog(h.db, h.datong.deps.keyring, { concurrency: 1, maxMessages: 500 });
    await Promise.all([log.store('ten_default', 'con_c', push('c-1'), new Date()), log.store('ten_default', 'con_c', push('c-1'), new Date())]);
    await log.store('ten_default', 'con_c', push('c-1'), new Date());
    expect((await stored('con_c')).map((r) => r.message_id)).toEqual(['c-1']);
  });

  it('fails only the push that cannot be stored; the others sharing its transaction are stored and answered', async () => {
    const log = new PushLog(h.db, h.datong.deps.keyring, { concurrency: 1, maxMessages: 500 });
    const results = await Promise.allSettled([
      log.store('ten_default', 'con_d', push('d-1'), new Date()),
      // Violates the table's CHECK on verification: the shared transaction fails.
      log.store('ten_default', 'con_d', push('d-bad', 'bogus' as NewMessage['verification']), new Date()),
      log.store('ten_default', 'con_d', push('d-2'), new Date()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await stored('con_d')).map((r) => r.message_id)).toEqual(['d-1', 'd-2']);
  });
});
