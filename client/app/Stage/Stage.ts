import { el, icon, ICONS } from '../dom.js';
import type { Tile } from '../Tile.js';
import { clampPage, GRID_PAGE_SIZE, gridBoxes, gridFit, mainTile, pageCount, speakerLayout, tileOrder, type LayoutMode } from './Layout.js';

// The stage: owns the tile area, lays the tiles out (grid or speaker view, paged) and re-lays
// them when the area's size or the tiles change. Tiles are positioned absolutely from the boxes
// Layout.ts computes.

export interface LayoutInfo {
  mode: LayoutMode;
  page: number;
  pages: number;
  cols: number;
  rows: number;
  /** The tile shown large in the speaker view. */
  main: string | null;
  /** Tile ids shown now, in layout order. */
  visible: string[];
}

export class Stage {
  readonly #area: HTMLDivElement;
  readonly #pager: HTMLDivElement;
  readonly #pageLabel: HTMLSpanElement;
  readonly #prev: HTMLButtonElement;
  readonly #next: HTMLButtonElement;
  readonly #tiles = new Map<string, Tile>();
  readonly #resize: ResizeObserver;
  #mode: LayoutMode = 'grid';
  #page = 0;
  #activeSpeakerTile: string | null = null;
  /** The tile the person pinned: large in the speaker view, and its video always forwarded (last-N). */
  #pinned: string | null = null;
  #info: LayoutInfo = { mode: 'grid', page: 0, pages: 1, cols: 0, rows: 0, main: null, visible: [] };
  #scheduled = false;
  /** Told after every layout (the mode button's state, the hook). */
  onLayout: (info: LayoutInfo) => void = () => undefined;

  constructor(host: HTMLElement) {
    this.#area = el('div', 'tiles');
    this.#area.setAttribute('role', 'list');
    this.#area.setAttribute('aria-label', 'Participants');
    this.#prev = pagerButton('Previous page', ICONS.prev, () => this.setPage(this.#page - 1));
    this.#next = pagerButton('Next page', ICONS.next, () => this.setPage(this.#page + 1));
    this.#pageLabel = el('span', 'page-label');
    this.#pageLabel.setAttribute('aria-live', 'polite');
    this.#pager = el('div', 'pager');
    this.#pager.append(this.#prev, this.#pageLabel, this.#next);
    host.append(this.#area, this.#pager);
    this.#resize = new ResizeObserver(() => this.layout());
    this.#resize.observe(this.#area);
  }

  get mode(): LayoutMode { return this.#mode; }
  get info(): LayoutInfo { return this.#info; }
  get tiles(): Tile[] { return [...this.#tiles.values()]; }

  /**
   * For last-N (setView): the remote peers whose camera tile is drawn now (the grid's page, or the
   * speaker view's large tile and strip page), and every remote camera tile's element.
   */
  lastNView(): { page: () => string[]; pinned: () => string[]; tiles: () => [string, HTMLElement][] } {
    const cameras = (): Tile[] => this.tiles.filter((t) => !t.local && t.source === 'camera');
    return {
      page: () => cameras().filter((t) => this.#info.visible.includes(t.id)).map((t) => t.peerId),
      pinned: () => {
        const t = this.#pinned === null ? undefined : this.#tiles.get(this.#pinned);
        return t && !t.local ? [t.peerId] : [];
      },
      tiles: () => cameras().map((t) => [t.peerId, t.root]),
    };
  }

  tile(id: string): Tile | undefined {
    return this.#tiles.get(id);
  }

  get pinned(): string | null {
    return this.#pinned;
  }

  /** Pins a tile (null: none): it goes large in the speaker view, which a pin switches to. */
  pin(tileId: string | null): void {
    this.#pinned = tileId !== null && this.#tiles.has(tileId) ? tileId : null;
    for (const t of this.#tiles.values()) {
      const on = t.id === this.#pinned;
      t.root.classList.toggle('pinned', on);
      const b = t.root.querySelector<HTMLButtonElement>('.pin-btn');
      b?.setAttribute('aria-pressed', String(on));
      if (b) b.title = on ? 'Unpin' : 'Pin: keep large';
    }
    if (this.#pinned !== null && this.#mode === 'grid') this.setMode('speaker');
    else this.layout();
  }

  add(tile: Tile): void {
    this.#tiles.set(tile.id, tile);
    if (!tile.local) {
      const pin = pagerButton('Pin: keep large', ICONS.pin, () => this.pin(this.#pinned === tile.id ? null : tile.id));
      pin.classList.add('pin-btn');
      pin.setAttribute('aria-pressed', 'false');
      pin.setAttribute('aria-label', 'Pin this person');
      tile.root.append(pin);
    }
    tile.root.setAttribute('role', 'listitem');
    this.#area.append(tile.root);
    this.schedule();
  }

  remove(id: string): void {
    const tile = this.#tiles.get(id);
    if (!tile) return;
    this.#tiles.delete(id);
    if (this.#pinned === id) this.#pinned = null;
    tile.close();
    this.schedule();
  }

  setMode(mode: LayoutMode): void {
    this.#mode = mode;
    this.#page = 0;
    this.layout();
  }

  toggleMode(): void {
    this.setMode(this.#mode === 'grid' ? 'speaker' : 'grid');
  }

  setPage(page: number): void {
    this.#page = page;
    this.layout();
  }

  /** The tile of the current active speaker (null: nobody); the speaker view follows it. */
  setActiveSpeaker(tileId: string | null): void {
    if (this.#activeSpeakerTile === tileId) return;
    this.#activeSpeakerTile = tileId;
    if (this.#mode === 'speaker') this.schedule();
  }

  /** Lays out once on the next frame, however many changes came in this one. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    requestAnimationFrame(() => {
      this.#scheduled = false;
      this.layout();
    });
  }

  layout(): void {
    const width = this.#area.clientWidth;
    const height = this.#area.clientHeight;
    const ranks = this.tiles.map((t) => ({ id: t.id, screen: t.source === 'screen', local: t.local, spokeAt: t.spokeAt, joinedAt: t.joinedAt }));
    const order = tileOrder(ranks);
    const placed = new Map<string, { x: number; y: number; w: number; h: number }>();
    let info: LayoutInfo;
    if (this.#mode === 'grid') {
      this.#page = clampPage(this.#page, order.length, GRID_PAGE_SIZE);
      const shown = order.slice(this.#page * GRID_PAGE_SIZE, (this.#page + 1) * GRID_PAGE_SIZE);
      gridBoxes(shown.length, width, height).forEach((box, i) => placed.set(shown[i]!, box));
      const fit = gridFit(shown.length, width, height);
      info = { mode: 'grid', page: this.#page, pages: pageCount(order.length, GRID_PAGE_SIZE), cols: fit.cols, rows: fit.rows, main: null, visible: shown };
    } else {
      const main = mainTile(ranks, this.#activeSpeakerTile, this.#pinned);
      const others = order.filter((id) => id !== main);
      const sl = speakerLayout(others.length, width, height);
      this.#page = clampPage(this.#page, others.length, sl.stripCapacity);
      const strip = others.slice(this.#page * sl.stripCapacity, (this.#page + 1) * sl.stripCapacity);
      if (main) placed.set(main, sl.main);
      strip.forEach((id, i) => { if (sl.strip[i]) placed.set(id, sl.strip[i]!); });
      const shown = main ? [main, ...strip] : strip;
      info = { mode: 'speaker', page: this.#page, pages: pageCount(others.length, sl.stripCapacity), cols: strip.length, rows: 1, main, visible: shown };
    }
    for (const tile of this.#tiles.values()) {
      tile.place(placed.get(tile.id) ?? null);
      tile.root.classList.toggle('main', info.main === tile.id);
    }
    this.#area.className = `tiles ${info.mode}`;
    this.#pager.hidden = info.pages <= 1;
    this.#pageLabel.textContent = `Page ${info.page + 1} of ${info.pages}`;
    this.#prev.disabled = info.page === 0;
    this.#next.disabled = info.page >= info.pages - 1;
    this.#info = info;
    this.onLayout(info);
  }

  close(): void {
    this.#resize.disconnect();
    for (const tile of this.#tiles.values()) tile.close();
    this.#tiles.clear();
  }
}

function pagerButton(label: string, path: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', 'icon-btn');
  b.type = 'button';
  b.setAttribute('aria-label', label);
  b.title = label;
  b.append(icon(path));
  b.addEventListener('click', onClick);
  return b;
}
