/**
 * Colours of the dark control-room theme, shared by CSS (custom properties in styles.css) and charts. Alarm priorities
 * and plant states use colour and shape together, so they stay apart for colour-blind readers.
 */
import type { Priority } from '../api/types.ts';

export const COLORS = {
  bg: '#0b1220',
  panel: '#111b2e',
  grid: '#22314a',
  text: '#e8eef6',
  muted: '#a9b8cc',
  accent: '#4fa3ff',
  supply: '#ff7a45',
  return: '#40a9ff',
  primarySupply: '#ff4d4f',
  primaryReturn: '#2f7dd1',
  heat: '#ffc53d',
  outdoor: '#95de64',
  forecast: '#d3f261',
  normal: '#3ddc84',
  commLoss: '#8c9bb0',
  manual: '#c58cff',
  auto: '#36cfc9',
} as const;

export const PRIORITY_COLORS: Record<Priority, string> = {
  critical: '#ff4d4f',
  high: '#ff9c2a',
  medium: '#ffe04d',
  low: '#69b1ff',
};

export const PRIORITY_RANK: Record<Priority, number> = { critical: 4, high: 3, medium: 2, low: 1 };

/** Base font size of the page in CSS px (the wall scales its root font with the screen). */
export function rootFontPx(): number {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
}
