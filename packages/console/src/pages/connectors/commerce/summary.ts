// One line per canonical record of a processed message (the log's `result`), without personal data.

export type SummaryItem =
  | { kind: 'order'; id: string; status: string; previousStatus: string | null; applied: boolean; amount: string | null }
  | { kind: 'refund'; id: string; status: string; previousStatus: string | null; applied: boolean; amount: string | null }
  | { kind: 'member'; event: string; level: string | null }
  | { kind: 'ignored'; reason: string };

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);

function money(amount: unknown, currency: unknown): string | null {
  const a = str(amount);
  if (a === null) return null;
  const c = str(currency);
  return c ? `${a} ${c}` : a;
}

export function summarizeResult(result: Record<string, unknown> | null): SummaryItem[] {
  const records = result?.['records'];
  if (!Array.isArray(records)) return [];
  const out: SummaryItem[] = [];
  for (const r of records as unknown[]) {
    if (typeof r !== 'object' || r === null) continue;
    const x = r as Record<string, unknown>;
    const kind = x['kind'];
    if (kind === 'order' || kind === 'refund') {
      out.push({
        kind,
        id: str(kind === 'order' ? x['orderId'] : x['refundId']) ?? '—',
        status: str(x['status']) ?? '—',
        previousStatus: str(x['previousStatus']),
        applied: x['applied'] === true,
        amount: kind === 'order' ? money(x['total'], x['currency']) : money(x['amount'], x['currency']),
      });
    } else if (kind === 'member') {
      out.push({ kind, event: str(x['event']) ?? '—', level: str(x['level']) });
    } else if (kind === 'ignored') {
      out.push({ kind, reason: str(x['reason']) ?? '' });
    }
  }
  return out;
}
