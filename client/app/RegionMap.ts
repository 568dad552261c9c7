// A small world map of the cluster's regions, drawn as SVG (no tiles, nothing fetched but
// /api/regions): every region as a dot, the one this page is on ringed, the regions the
// room spans filled, and the relay links between them (one per pair: the cascade is a mesh).

import { placeLabels } from './mapLabels.js';

export interface MapRegion {
  name: string;
  lat: number;
  lon: number;
}

const W = 300;
const H = 150;
const NS = 'http://www.w3.org/2000/svg';
/** In the map's own units: the map is drawn about 280 px wide in the side panel, so about 9 px. */
const LABEL_FONT = 10;

// Equirectangular: good enough to tell continents apart at this size.
const x = (lon: number): number => ((lon + 180) / 360) * W;
const y = (lat: number): number => ((90 - lat) / 180) * H;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text) node.textContent = text;
  return node;
}

export class RegionMap {
  readonly root: SVGSVGElement;
  #regions: MapRegion[] = [];

  constructor() {
    this.root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'region-map', role: 'img', 'aria-label': 'Regions of this call' });
  }

  setRegions(regions: MapRegion[]): void {
    this.#regions = regions;
  }

  render(current: string | null, roomRegions: Set<string>): void {
    this.root.replaceChildren();
    this.root.append(svg('rect', { x: 0, y: 0, width: W, height: H, class: 'sea' }));
    for (let lon = -150; lon <= 150; lon += 30) this.root.append(svg('line', { x1: x(lon), y1: 0, x2: x(lon), y2: H, class: 'grid' }));
    for (let lat = -60; lat <= 60; lat += 30) this.root.append(svg('line', { x1: 0, y1: y(lat), x2: W, y2: y(lat), class: 'grid' }));
    const inRoom = this.#regions.filter((r) => roomRegions.has(r.name));
    for (let i = 0; i < inRoom.length; i++) {
      for (let j = i + 1; j < inRoom.length; j++) {
        const a = inRoom[i]!;
        const b = inRoom[j]!;
        this.root.append(svg('line', { x1: x(a.lon), y1: y(a.lat), x2: x(b.lon), y2: y(b.lat), class: 'link' }));
      }
    }
    const labels = placeLabels(this.#regions.map((r) => ({ name: r.name, x: x(r.lon), y: y(r.lat) })), W, H, LABEL_FONT);
    this.#regions.forEach((r, i) => {
      const cls = ['region', roomRegions.has(r.name) ? 'in-room' : '', r.name === current ? 'current' : ''].filter(Boolean).join(' ');
      const g = svg('g', { class: cls, 'data-region': r.name });
      g.append(svg('circle', { cx: x(r.lon), cy: y(r.lat), r: r.name === current ? 5 : 3.5 }));
      g.append(svg('text', { x: labels[i]!.x, y: labels[i]!.y, 'font-size': LABEL_FONT }, r.name));
      g.append(svg('title', {}, `${r.name}${r.name === current ? ' (you are here)' : ''}`));
      this.root.append(g);
    });
  }
}
