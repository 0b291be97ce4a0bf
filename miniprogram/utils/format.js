// Display formats: money as ¥ with two decimals (the API sends decimal strings), dates in local time.

function money(value) {
  if (value === null || value === undefined || value === '') return '—';
  const n = Number(value);
  if (!Number.isFinite(n)) return '—';
  return `¥${n.toFixed(2)}`;
}

function pad(n) {
  return n < 10 ? `0${n}` : `${n}`;
}

function parse(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

// 2024-05-01
function date(iso) {
  const d = parse(iso);
  return d ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : '';
}

// 2024-05-01 14:03
function dateTime(iso) {
  const d = parse(iso);
  return d ? `${date(iso)} ${pad(d.getHours())}:${pad(d.getMinutes())}` : '';
}

// "Φ400×40×127" from a product's fields (the API's `spec` text is preferred when present).
function dimensions(p) {
  const parts = [p.outer_diameter_mm, p.thickness_mm, p.bore_mm].map((v) => (v ? String(Number(v)) : null));
  if (!parts.some(Boolean)) return '';
  return parts.map((v) => v || '?').join('×');
}

module.exports = { money, date, dateTime, dimensions };
