import { expect } from 'vitest';

/** An answer that is an RFC 9457 problem with this status and stable code. */
export function expectProblem(r: { statusCode: number; headers: Record<string, unknown>; json: () => unknown }, status: number, code: string): void {
  expect(r.statusCode).toBe(status);
  expect(r.headers['content-type']).toContain('application/problem+json');
  expect(r.json()).toMatchObject({ status, code });
}
