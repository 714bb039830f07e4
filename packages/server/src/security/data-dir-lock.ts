import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { DatongError } from '@datong/core';

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite does not lock its folder, and two processes writing one folder silently lose data
 * (FACTS.md). Datong takes an exclusive lock file (O_EXCL) holding its PID; a lock left by a
 * process that no longer runs on this host is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'datong.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
      closeSync(fd);
      let released = false;
      return {
        path: file,
        release() {
          if (released) return;
          released = true;
          try {
            unlinkSync(file);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder: { pid?: number; host?: string } = {};
      try {
        holder = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number; host?: string };
      } catch {
        // A lock file cut short by a crash while it was written: treat as stale.
      }
      const sameHost = holder.host === undefined || holder.host === hostname();
      if (typeof holder.pid === 'number' && sameHost && isAlive(holder.pid)) {
        throw new DatongError(
          'DATA_DIR_LOCKED',
          `Another Datong server (pid ${holder.pid}) is already using the data folder ${path.resolve(dataDir)}. ` +
            'Stop it first, or start this one with another DATONG_DATA_DIR. (The embedded database cannot be shared by two processes; ' +
            'to run several processes, use a PostgreSQL server via DATABASE_URL.)',
        );
      }
      if (typeof holder.pid === 'number' && !sameHost) {
        throw new DatongError(
          'DATA_DIR_LOCKED',
          `The data folder ${path.resolve(dataDir)} is locked by a Datong server on host ${holder.host}. Remove ${file} only if that server is stopped.`,
        );
      }
      unlinkSync(file);
    }
  }
  throw new DatongError('DATA_DIR_LOCKED', `Could not lock the data folder ${path.resolve(dataDir)}`);
}
