// Where tiles go on the stage: pure functions of the tile count and the stage's size, so the
// layout is a table test and the DOM code only applies boxes. No DOM types here (the unit tests
// compile this file for node).

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type LayoutMode = 'grid' | 'speaker';

/** Video tiles are 16:9 (what cameras and screens send); the video inside is letterboxed or cropped. */
export const TILE_ASPECT = 16 / 9;
/** The grid pages beyond this many tiles (as Jitsi and LiveKit do at 25). */
export const GRID_PAGE_SIZE = 25;
export const GAP = 8;

export interface GridFit {
  cols: number;
  rows: number;
  tileW: number;
  tileH: number;
}

/**
 * The column count that gives n tiles of `aspect` the largest size inside width x height, with
 * `gap` between tiles. Tries every count (n <= 25): cheap, and no heuristic to get wrong.
 */
export function gridFit(n: number, width: number, height: number, gap = GAP, aspect = TILE_ASPECT): GridFit {
  let best: GridFit = { cols: 1, rows: Math.max(n, 1), tileW: 0, tileH: 0 };
  if (n <= 0 || width <= 0 || height <= 0) return best;
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cellW = (width - gap * (cols - 1)) / cols;
    const cellH = (height - gap * (rows - 1)) / rows;
    const tileW = Math.floor(Math.min(cellW, cellH * aspect));
    if (tileW > best.tileW) best = { cols, rows, tileW, tileH: Math.floor(tileW / aspect) };
  }
  return best;
}

/** Boxes for n tiles in a grid, centred; a last row that is not full is centred too. */
export function gridBoxes(n: number, width: number, height: number, gap = GAP): Box[] {
  const { cols, rows, tileW, tileH } = gridFit(n, width, height, gap);
  const top = (height - (rows * tileH + (rows - 1) * gap)) / 2;
  const boxes: Box[] = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / cols);
    const inRow = row === rows - 1 ? n - row * cols : cols;
    const left = (width - (inRow * tileW + (inRow - 1) * gap)) / 2;
    boxes.push({ x: Math.round(left + (i % cols) * (tileW + gap)), y: Math.round(top + row * (tileH + gap)), w: tileW, h: tileH });
  }
  return boxes;
}

export interface SpeakerLayout {
  /** The large tile, then one box per strip tile shown. */
  main: Box;
  strip: Box[];
  /** How many tiles the strip can show at once (the rest are on other strip pages). */
  stripCapacity: number;
}

/**
 * One large tile and a strip of small ones: along the bottom on a portrait or narrow stage, down
 * the right side on a wide one (so the large tile keeps its height).
 */
export function speakerLayout(others: number, width: number, height: number, gap = GAP): SpeakerLayout {
  const side = width / Math.max(height, 1) > 1.5 && width >= 700;
  if (others <= 0) return { main: { x: 0, y: 0, w: width, h: height }, strip: [], stripCapacity: 0 };
  if (side) {
    const stripW = Math.round(Math.min(240, Math.max(120, width * 0.18)));
    const tileH = Math.floor(stripW / TILE_ASPECT);
    const capacity = Math.max(1, Math.floor((height + gap) / (tileH + gap)));
    const shown = Math.min(others, capacity);
    const top = (height - (shown * tileH + (shown - 1) * gap)) / 2;
    const strip = Array.from({ length: shown }, (_, i) => ({ x: width - stripW, y: Math.round(top + i * (tileH + gap)), w: stripW, h: tileH }));
    return { main: fitted(0, 0, width - stripW - gap, height), strip, stripCapacity: capacity };
  }
  // At least three strip tiles across a phone: smaller tiles beat a strip of one and pages.
  const tileW = Math.floor(Math.min(Math.min(140, Math.max(64, height * 0.2)) * TILE_ASPECT, (width - 2 * gap) / 3));
  const stripH = Math.floor(tileW / TILE_ASPECT);
  const capacity = Math.max(1, Math.floor((width + gap) / (tileW + gap)));
  const shown = Math.min(others, capacity);
  const left = (width - (shown * tileW + (shown - 1) * gap)) / 2;
  const strip = Array.from({ length: shown }, (_, i) => ({ x: Math.round(left + i * (tileW + gap)), y: height - stripH, w: tileW, h: stripH }));
  return { main: fitted(0, 0, width, height - stripH - gap), strip, stripCapacity: capacity };
}

/** The largest 16:9 box centred in the given area. */
function fitted(x: number, y: number, width: number, height: number): Box {
  const w = Math.max(0, Math.floor(Math.min(width, height * TILE_ASPECT)));
  const h = Math.floor(w / TILE_ASPECT);
  return { x: Math.round(x + (width - w) / 2), y: Math.round(y + (height - h) / 2), w, h };
}

export function pageCount(n: number, perPage: number): number {
  return Math.max(1, Math.ceil(n / Math.max(perPage, 1)));
}

/** A page number kept in range after tiles came or went. */
export function clampPage(page: number, n: number, perPage: number): number {
  return Math.min(Math.max(page, 0), pageCount(n, perPage) - 1);
}

export interface TileRank {
  id: string;
  screen: boolean;
  local: boolean;
  /** When this tile's peer last spoke (ms), 0: never. */
  spokeAt: number;
  joinedAt: number;
}

/**
 * The order tiles are laid out in: screen shares first, then this page's own camera, then the
 * others by when they joined (stable: a tile does not jump when someone speaks).
 */
export function tileOrder(tiles: readonly TileRank[]): string[] {
  return [...tiles]
    .sort((a, b) => Number(b.screen) - Number(a.screen) || Number(b.local) - Number(a.local) || a.joinedAt - b.joinedAt || a.id.localeCompare(b.id))
    .map((t) => t.id);
}

/**
 * The tile the speaker view shows large: the newest screen share, else the active speaker if
 * it is someone else, else whoever spoke last, else the first remote tile, else our own.
 */
export function mainTile(tiles: readonly TileRank[], activeSpeakerTile: string | null, pinned: string | null = null): string | null {
  // A tile the person pinned stays large whatever else happens.
  if (pinned !== null && tiles.some((t) => t.id === pinned)) return pinned;
  const screens = tiles.filter((t) => t.screen).sort((a, b) => b.joinedAt - a.joinedAt);
  if (screens[0]) return screens[0].id;
  const active = tiles.find((t) => t.id === activeSpeakerTile && !t.local);
  if (active) return active.id;
  const remote = tiles.filter((t) => !t.local);
  const spoke = [...remote].sort((a, b) => b.spokeAt - a.spokeAt)[0];
  if (spoke && spoke.spokeAt > 0) return spoke.id;
  return remote[0]?.id ?? tiles[0]?.id ?? null;
}
