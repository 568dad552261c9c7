// Small DOM helpers shared by the app's views. Every piece of user-provided text goes through
// textContent, never innerHTML.

export function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html lacks #${id}`);
  return node as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

export function cleanName(raw: string): string {
  return raw.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 64);
}

/** Up to two initials for an avatar: "Ada Lovelace" -> "AL", "bob" -> "B". */
export function initials(name: string): string {
  const words = name.replace(/\(you\)/, '').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words[words.length - 1]!] : words;
  return letters.map((w) => [...w][0]!.toUpperCase()).join('') || '?';
}

// Same rule as the protocol's RoomName, checked here to give a readable message before joining.
export const ROOM_RE = /^[\p{L}\p{N}_.~-]{1,128}$/u;
export const ROOM_RULE = 'Room: letters, digits and _ . ~ - only (up to 128).';

export function showView(id: 'join-view' | 'call-view' | 'left-view'): void {
  for (const view of ['join-view', 'call-view', 'left-view']) byId(view).hidden = view !== id;
}

/** Remembered between visits (localStorage, which may be unavailable: private mode, a sandbox). */
export const remembered = {
  get(key: string): string {
    try {
      return localStorage.getItem(`octomesh.${key}`) ?? '';
    } catch {
      return '';
    }
  },
  set(key: string, value: string): void {
    try {
      localStorage.setItem(`octomesh.${key}`, value);
    } catch {
      // nothing to remember with
    }
  },
};

/** Is the person typing (a shortcut key must then type, not toggle)? */
export function typingIn(target: EventTarget | null): boolean {
  const t = target as HTMLElement | null;
  return !!t && (t.isContentEditable || t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT');
}

const NS = 'http://www.w3.org/2000/svg';

/** A 24x24 line icon from one path; aria-hidden, the button or tile carries the label. */
export function icon(path: string, className = 'icon'): SVGSVGElement {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', className);
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(NS, 'path');
  p.setAttribute('d', path);
  svg.append(p);
  return svg;
}

/** Line icons (stroke, 24x24). */
export const ICONS = {
  mic: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3',
  micOff: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3M3 3l18 18',
  cam: 'M3 7h12v10H3zM15 10l6-3v10l-6-3',
  camOff: 'M3 7h12v10H3zM15 10l6-3v10l-6-3M3 3l18 18',
  screen: 'M3 4h18v12H3zM8 20h8M12 16v4M12 13V7M9 10l3-3 3 3',
  grid: 'M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z',
  speaker: 'M3 4h18v11H3zM4 18h4v2H4zM10 18h4v2h-4zM16 18h4v2h-4z',
  link: 'M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1',
  leave: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  sound: 'M4 9h4l5-4v14l-5-4H4zM16 9a4 4 0 0 1 0 6',
  settings: 'M4 6h9M17 6h3M15 4v4M4 12h3M11 12h9M9 10v4M4 18h11M19 18h1M17 16v4',
  prev: 'M15 5l-7 7 7 7',
  next: 'M9 5l7 7-7 7',
  pin: 'M9 4h6l-1 6 3 3H7l3-3zM12 13v7',
} as const;
