/** Short messages in the corner (a failed action, a new ticket); each goes after `ms`. */
import { shallowRef } from 'vue';

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'alert' | 'error';
}

const toasts = shallowRef<Toast[]>([]);
let seq = 0;

export function toast(text: string, kind: Toast['kind'] = 'info', ms = 6000): void {
  const t: Toast = { id: ++seq, text, kind };
  toasts.value = [...toasts.value.slice(-4), t];
  setTimeout(() => (toasts.value = toasts.value.filter((x) => x.id !== t.id)), ms);
}

export function useToasts() {
  return toasts;
}
