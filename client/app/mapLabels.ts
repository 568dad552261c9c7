// Where each region's name goes on the map. Names were drawn right of their dots, so one near
// the right edge ran off the map and one beside a link sat on its line. Now: above the dot,
// else below, right or left, the first place inside the map that covers no name already placed
// and no other dot; kept inside the map's width. Pure (no DOM): a table test checks it.

export interface MapPoint {
  name: string;
  x: number;
  y: number;
}

export interface PlacedLabel {
  name: string;
  /** Left end of the text's baseline (text-anchor: start). */
  x: number;
  y: number;
  box: { x: number; y: number; w: number; h: number };
}

/** Average advance of a sans-serif glyph per unit of font size, rounded up: an estimate, no DOM to measure. */
const GLYPH_EM = 0.62;
const GAP = 3;
const DOT_R = 5;

type Box = PlacedLabel['box'];
const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

export function placeLabels(points: readonly MapPoint[], width: number, height: number, fontSize: number): PlacedLabel[] {
  const dots: Box[] = points.map((p) => ({ x: p.x - DOT_R, y: p.y - DOT_R, w: 2 * DOT_R, h: 2 * DOT_R }));
  const placed: PlacedLabel[] = [];
  points.forEach((p, i) => {
    const w = Math.ceil(p.name.length * GLYPH_EM * fontSize);
    const h = fontSize;
    const clampX = (left: number): number => Math.max(1, Math.min(width - 1 - w, left));
    // Top-left corners of the candidate boxes, best first.
    const above = p.y - DOT_R - GAP - h;
    const below = p.y + DOT_R + GAP;
    const candidates: [number, number][] = [
      [clampX(p.x - w / 2), above],
      [clampX(p.x - w / 2), below],
      [p.x + DOT_R + GAP, p.y - h / 2],
      [p.x - DOT_R - GAP - w, p.y - h / 2],
      [clampX(p.x), above],
      [clampX(p.x - w), above],
      [clampX(p.x), below],
      [clampX(p.x - w), below],
      // Crowded (regions a few pixels apart): a row further out.
      [clampX(p.x - w / 2), above - h - GAP],
      [clampX(p.x - w / 2), below + h + GAP],
    ];
    const boxes = candidates.map(([x, y]) => ({ x, y, w, h }));
    const fits = (b: Box): boolean =>
      b.x >= 0 && b.x + b.w <= width && b.y >= 0 && b.y + b.h <= height &&
      !placed.some((l) => overlaps(l.box, b)) && !dots.some((d, j) => j !== i && overlaps(d, b));
    const box = boxes.find(fits) ?? boxes[0]!;
    // The baseline sits about a fifth of the font size above the box's bottom (descenders).
    placed.push({ name: p.name, x: box.x, y: box.y + h * 0.8, box });
  });
  return placed;
}
