import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createSource, DEFAULT_TENANT_ID, loadConfig, openDatabase, startDatong } from '@datong/server';
import { cli, makeTempDir, removeDir, testEnv } from '../test-support/cli-harness.js';

const at = '2025-01-01T00:00:00.000Z';
const LINES = [
  JSON.stringify({ type: 'identify', messageId: 'm-1', userId: 'u-1', traits: { name: 'Li Lei' }, timestamp: at }),
  JSON.stringify({ type: 'track', messageId: 'm-2', userId: 'u-1', event: 'Product Viewed', timestamp: at }),
  '{"type": "identify", "userId": ',
  JSON.stringify({ type: 'identify', messageId: 'm-3', userId: 'u-2', traits: { name: 'Han Meimei' }, timestamp: at }),
  // Same messageId as line 1: a client retry, stored once.
  JSON.stringify({ type: 'identify', messageId: 'm-1', userId: 'u-1', traits: { name: 'Li Lei' }, timestamp: at }),
];

describe('datong import', () => {
  let dir = '';
  let env: Record<string, string> = {};
  let file = '';
  let sourceId = '';

  beforeAll(async () => {
    dir = makeTempDir();
    env = testEnv(dir);
    file = path.join(dir, 'messages.jsonl');
    writeFileSync(file, `${LINES.join('\n')}\n`);
    const datong = await startDatong({ config: loadConfig(env).config, logger: createLogger('silent'), workers: false });
    try {
      sourceId = (await createSource(datong.db, datong.deps, DEFAULT_TENANT_ID, 'backfill', 'http', new Date())).id;
    } finally {
      await datong.close();
    }
  });
  afterAll(() => removeDir(dir));

  it('fails clearly when the source does not exist', async () => {
    const r = await cli(env, ['import', file, '--source', 'src_missing']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('[SOURCE_NOT_FOUND]');
    expect(r.stderr).toContain('No source src_missing. Create one first');
  });

  it('stores the valid lines, counts the duplicate and writes the invalid line to .rejected.jsonl', async () => {
    const r = await cli(env, ['import', file, '--source', sourceId, '--batch', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Imported ${file} into source ${sourceId} (tenant ten_default):`);
    expect(r.stdout).toMatch(/^ {2}lines\s+5$/m);
    expect(r.stdout).toMatch(/^ {2}accepted\s+3 {2}stored in the inbox$/m);
    expect(r.stdout).toMatch(/^ {2}duplicates\s+1 {2}/m);
    expect(r.stdout).toMatch(new RegExp(`^ {2}invalid\\s+1 {2}written with line number and reason to ${file}\\.rejected\\.jsonl$`, 'm'));
    expect(r.stdout).toContain('Run with --process to process them now.');
    // stderr is not a TTY here: progress comes as plain lines, not a redrawn bar.
    expect(r.stderr).toMatch(/^import messages\.jsonl: 100% \(\d+ B of \d+ B, 5 lines\)$/m);

    const rejected = readFileSync(`${file}.rejected.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ line: 3, raw: '{"type": "identify", "userId": ' });
    expect(rejected[0]?.['reason']).toMatch(/^invalid JSON: /);
  });

  it('with --process, stores nothing twice and turns the inbox into customers', async () => {
    const r = await cli(env, ['import', file, '--source', sourceId, '--process']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}accepted\s+0 /m);
    expect(r.stdout).toMatch(/^ {2}duplicates\s+4 /m);
    expect(r.stdout).toContain('Processed 3 pending inbox message(s).');

    const { config } = loadConfig(env);
    const { db, lock } = await openDatabase(config);
    try {
      const customers = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM customers WHERE tenant_id = $1', [DEFAULT_TENANT_ID]);
      expect(customers.rows[0]?.n).toBe(2);
      const pending = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM inbox WHERE status = 0');
      expect(pending.rows[0]?.n).toBe(0);
    } finally {
      await db.close();
      lock?.release();
    }
  });
});
