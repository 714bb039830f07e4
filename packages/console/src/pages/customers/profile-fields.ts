// Custom fields as form rows (typed text, number or boolean) and back to traits.
export type Kind = 'text' | 'number' | 'boolean';
export interface FieldRow {
  key: string;
  kind: Kind;
  value: string;
}

export const KEY_PATTERN = /^[A-Za-z_][\w.-]{0,63}$/;

export function traitsToRows(traits: Record<string, unknown>): FieldRow[] {
  return Object.entries(traits)
    .filter(([k]) => k !== 'name')
    .map(([key, v]) => ({
      key,
      kind: typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'text',
      value: typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v),
    }));
}

/** The traits to send: the rows' values, and null for each field that was removed (the API merges traits). */
export function rowsToTraits(rows: readonly FieldRow[], before: Record<string, unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(before)) if (k !== 'name') out[k] = null;
  for (const r of rows) out[r.key.trim()] = r.kind === 'number' ? Number(r.value) : r.kind === 'boolean' ? r.value === 'true' : r.value;
  return out;
}
