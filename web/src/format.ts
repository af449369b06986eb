/** Number and time formatting for people (pure: the browser tests use it to know what a page must show). */

const nf = (max: number, min = 0) => new Intl.NumberFormat('en-US', { maximumFractionDigits: max, minimumFractionDigits: min });
const INT = nf(0);

/** AITBC with sensible precision: 1,234.57 · 12.3457 · 0.00080044; thousands separators. */
export function aitbc(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '—';
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  const digits = a === 0 ? 0 : a >= 100 ? 2 : a >= 1 ? 4 : 8;
  return `${nf(digits).format(n)} AITBC`;
}

/** An AITBC amount without the unit (table cells under a unit header). */
export function amount(v: string | number | null | undefined): string {
  const s = aitbc(v);
  return s === '—' ? s : s.slice(0, -' AITBC'.length);
}

export function int(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : INT.format(v);
}

/** A rate 0..1 as a percentage with one decimal. */
export function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${nf(1).format(v * 100)}%`;
}

export function num(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? '—' : nf(digits).format(v);
}

/** Seconds as "850 ms", "12.5 s", "4.2 min", "3.1 h". */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined) return '—';
  if (s < 1) return `${INT.format(s * 1000)} ms`;
  if (s < 120) return `${nf(1).format(s)} s`;
  if (s < 7200) return `${nf(1).format(s / 60)} min`;
  return `${nf(1).format(s / 3600)} h`;
}

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
/** "5 seconds ago", "3 minutes ago", "yesterday". */
export function ago(iso: string, now = Date.now()): string {
  const s = (new Date(iso).getTime() - now) / 1000;
  const a = Math.abs(s);
  if (a < 45) return rtf.format(Math.round(s), 'second');
  if (a < 2700) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 64_800) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86_400), 'day');
}

export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
}

/** The change from `prev` to `cur` as "+12.5%" (null when there is nothing to compare). */
export function trend(cur: number | null | undefined, prev: number | null | undefined): { text: string; dir: 'up' | 'down' | 'flat' } | null {
  if (cur === null || cur === undefined || prev === null || prev === undefined) return null;
  if (prev === 0) return cur === 0 ? { text: '±0%', dir: 'flat' } : { text: 'new', dir: 'up' };
  const d = (cur - prev) / Math.abs(prev);
  if (Math.abs(d) < 0.0005) return { text: '±0%', dir: 'flat' };
  return { text: `${d > 0 ? '+' : ''}${nf(1).format(d * 100)}%`, dir: d > 0 ? 'up' : 'down' };
}

export const CATEGORIES = ['gpu_compute', 'inference', 'training', 'data_services', 'model_services'] as const;
export const CATEGORY_LABEL: Record<string, string> = {
  gpu_compute: 'GPU compute', inference: 'Inference', training: 'Training', data_services: 'Data services', model_services: 'Model services',
};
export const label = (c: string) => CATEGORY_LABEL[c] ?? c;
