import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { CliIo, Running } from '../io.js';
import { runCli } from '../program.js';

/** A stream that keeps what was written; not a TTY, so progress is printed as lines. */
export class Capture extends Writable {
  text = '';
  readonly isTTY = false;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Fixed keys so a test database can be reopened (the master key is checked against the data). */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
export const TEST_ADMIN_KEY = 'test-admin-key-6c1f0d9e2a';

export function makeTempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'datong-cli-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function testEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DATONG_DATA_DIR: dataDir, DATONG_MASTER_KEY: TEST_MASTER_KEY, DATONG_ADMIN_KEY: TEST_ADMIN_KEY, ...extra };
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly running: Running | null;
}

/** Runs one `datong …` command line in this process. */
export async function cli(env: Record<string, string>, args: readonly string[]): Promise<CliRun> {
  const stdout = new Capture();
  const stderr = new Capture();
  let running: Running | null = null;
  const io: CliIo = {
    stdout,
    stderr,
    env,
    onRunning: (r) => {
      running = r;
    },
  };
  const code = await runCli(io, args);
  return { code, stdout: stdout.text, stderr: stderr.text, running };
}
