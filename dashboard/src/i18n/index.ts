/**
 * zh-CN and English without an i18n package: a typed message catalogue (every key in both languages, checked by the
 * compiler), `{name}` interpolation, and Intl number and date formats. The language defaults to the browser's, can be
 * switched, and is remembered in localStorage; `?lang=zh-CN` or `?lang=en` in a URL sets it (wall kiosks).
 */
import { computed, ref } from 'vue';
import { en, type MessageKey } from './en.ts';
import { zh } from './zh-CN.ts';

export type Locale = 'zh-CN' | 'en';
export const LOCALES: readonly Locale[] = ['zh-CN', 'en'];
const STORAGE_KEY = 'warmgrid.locale';
const CATALOGUES: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zh };

function parseLocale(s: string | null | undefined): Locale | null {
  if (!s) return null;
  const l = s.toLowerCase();
  if (l.startsWith('zh')) return 'zh-CN';
  if (l.startsWith('en')) return 'en';
  return null;
}

function initialLocale(): Locale {
  try {
    const fromUrl = parseLocale(new URLSearchParams(window.location.search).get('lang'));
    if (fromUrl) {
      localStorage.setItem(STORAGE_KEY, fromUrl);
      return fromUrl;
    }
    const stored = parseLocale(localStorage.getItem(STORAGE_KEY));
    if (stored) return stored;
  } catch {
    // Storage may be unavailable (private mode, kiosk policy): fall back to the browser's language.
  }
  for (const l of navigator.languages ?? [navigator.language]) {
    const p = parseLocale(l);
    if (p) return p;
  }
  return 'en';
}

const locale = ref<Locale>(initialLocale());
document.documentElement.lang = locale.value;

export function setLocale(l: Locale): void {
  locale.value = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(STORAGE_KEY, l);
  } catch {
    // not remembered; still switched
  }
}

export type Params = Record<string, string | number>;

export function translate(l: Locale, key: MessageKey, params?: Params): string {
  const s = CATALOGUES[l][key] ?? en[key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

const numberFormats = new Map<string, Intl.NumberFormat>();
function nf(l: Locale, digits: number): Intl.NumberFormat {
  const k = `${l}:${digits}`;
  let f = numberFormats.get(k);
  if (!f) numberFormats.set(k, (f = new Intl.NumberFormat(l, { minimumFractionDigits: digits, maximumFractionDigits: digits })));
  return f;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();
function df(l: Locale, kind: 'time' | 'datetime' | 'date' | 'short'): Intl.DateTimeFormat {
  const k = `${l}:${kind}`;
  let f = dateFormats.get(k);
  if (!f) {
    const o: Intl.DateTimeFormatOptions =
      kind === 'time'
        ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }
        : kind === 'date'
          ? { year: 'numeric', month: '2-digit', day: '2-digit' }
          : kind === 'short'
            ? { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }
            : { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false };
    dateFormats.set(k, (f = new Intl.DateTimeFormat(l, o)));
  }
  return f;
}

/** The language and its formatters; reactive, so templates follow a switch at once. */
export function useI18n() {
  return {
    locale: computed(() => locale.value),
    setLocale,
    t: (key: MessageKey, params?: Params): string => translate(locale.value, key, params),
    /** A number with fixed decimals, or "–" when unknown. */
    n: (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : nf(locale.value, digits).format(v)),
    time: (ts: number | null | undefined): string => (ts ? df(locale.value, 'time').format(ts) : '–'),
    dateTime: (ts: number | null | undefined): string => (ts ? df(locale.value, 'datetime').format(ts) : '–'),
    shortDateTime: (ts: number | null | undefined): string => (ts ? df(locale.value, 'short').format(ts) : '–'),
    date: (ts: number | null | undefined): string => (ts ? df(locale.value, 'date').format(ts) : '–'),
  };
}

export type { MessageKey };
