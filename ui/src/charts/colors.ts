// A colour per run, stable: a run keeps its colour from chart to chart and from view to view (it
// comes from the run id), and runs shown together never share one while the palette lasts.

export const PALETTE = [
  "#2468d8", "#e8590c", "#2f9e44", "#c2255c", "#7048e8", "#0c8599", "#e67700", "#5c940d",
  "#d6336c", "#1971c2", "#9c36b5", "#087f5b", "#f03e3e", "#364fc7", "#a61e4d", "#66a80f",
  "#0b7285", "#862e9c", "#d9480f", "#495057",
];

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** Colours for `runIds` (in order): each run's own palette slot, the next free one if taken. */
export function runColors(runIds: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<number>();
  for (const id of runIds) {
    if (out.has(id)) continue;
    let slot = hash(id) % PALETTE.length;
    if (used.size < PALETTE.length) {
      while (used.has(slot)) slot = (slot + 1) % PALETTE.length;
    }
    used.add(slot);
    out.set(id, PALETTE[slot] as string);
  }
  return out;
}

/** `#rrggbb` with an alpha, as `rgba(...)`. */
export function withAlpha(hex: string, alpha: number): string {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
