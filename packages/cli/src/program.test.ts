import { describe, expect, it } from 'vitest';
import { cli } from './test-support/cli-harness.js';

describe('datong program', () => {
  it('prints its version and exits 0', async () => {
    const r = await cli({}, ['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('rejects an unknown command with exit code 1 and a pointer to the help', async () => {
    const r = await cli({}, ['keys', 'rotate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("unknown command 'rotate'");
  });

  it('reports a missing required option without touching any database', async () => {
    const r = await cli({}, ['import', 'x.jsonl']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--source is required for a JSONL import');
    expect(r.stderr).toContain('[VALIDATION_FAILED]');
  });
});
