import dayjs from 'dayjs';

export function fmtTime(v: string | null | undefined): string {
  return v ? dayjs(v).format('YYYY-MM-DD HH:mm:ss') : '—';
}

export function fmtDate(v: string | null | undefined): string {
  return v ? dayjs(v).format('YYYY-MM-DD') : '—';
}

export function fromNow(v: string | null | undefined): string {
  return v ? dayjs(v).fromNow() : '—';
}

export function traitText(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function displayName(traits: Record<string, unknown>, fallback: string): string {
  const n = traits['name'] ?? [traits['firstName'], traits['lastName']].filter(Boolean).join(' ');
  return typeof n === 'string' && n.trim() !== '' ? n : fallback;
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? null;
}
