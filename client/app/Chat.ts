import type { ChatMessage, OctomeshClient } from '../sdk/OctomeshClient.js';
import { byId, el } from './dom.js';
import type { ChatEntry } from './hook.js';

// The chat panel: messages as they come (ours once the server took them), and the form.

export function setupChat(client: OctomeshClient, log: ChatEntry[]): void {
  const list = byId('chat-list');
  const input = byId<HTMLInputElement>('chat-input');
  const add = (msg: ChatMessage, self: boolean): void => {
    log.push({ ...msg, self });
    const li = el('li', self ? 'me' : '');
    const time = el('time', '', new Date(msg.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
    time.dateTime = new Date(msg.ts).toISOString();
    li.append(el('span', 'who', msg.displayName), el('span', 'text', msg.text), time);
    list.append(li);
    list.scrollTop = list.scrollHeight;
  };
  client.on('chat', (msg) => add(msg, msg.peerId === client.self?.peerId));
  byId<HTMLFormElement>('chat-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    client.sendChat(text).catch((err: unknown) => {
      input.value ||= text; // keep what was typed so it can be sent again
      console.warn('octomesh: chat not sent', err);
    });
  });
}
