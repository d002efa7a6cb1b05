// The chart grid's key filter.

/** Whether `key` matches the filter box: every word of it, case-insensitive; `/re/` as a regex. */
export function keyMatches(key: string, filter: string): boolean {
  const f = filter.trim();
  if (!f) return true;
  const re = /^\/(.+)\/([a-z]*)$/.exec(f);
  if (re) {
    try {
      return new RegExp(re[1] ?? "", re[2] || "i").test(key);
    } catch {
      return false;
    }
  }
  const k = key.toLowerCase();
  return f
    .toLowerCase()
    .split(/\s+/)
    .every((w) => k.includes(w));
}
