/**
 * A short two-tone beep with WebAudio (no sound file). Browsers start audio only after a user gesture, so the context
 * is created or resumed on the first click or key press on the page; the sound can be switched off (remembered).
 * `count` counts beeps played, for the page's cue and its tests.
 */
import { onScopeDispose, shallowRef } from 'vue';

const STORAGE_KEY = 'warmgrid.sound';

export function useBeep() {
  let stored: string | null;
  try {
    stored = localStorage.getItem(STORAGE_KEY);
  } catch {
    stored = null;
  }
  const enabled = shallowRef(stored !== 'off');
  const count = shallowRef(0);
  let ctx: AudioContext | null = null;

  function ensure(): AudioContext | null {
    try {
      ctx ??= new AudioContext();
      if (ctx.state === 'suspended') void ctx.resume();
      return ctx;
    } catch {
      return null;
    }
  }

  function tone(c: AudioContext, freq: number, at: number, dur: number): void {
    const osc = c.createOscillator();
    const gain = c.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.35, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + dur);
    osc.connect(gain).connect(c.destination);
    osc.start(at);
    osc.stop(at + dur + 0.02);
  }

  function beep(): void {
    if (!enabled.value) return;
    const c = ensure();
    if (!c) return;
    const t0 = c.currentTime + 0.01;
    tone(c, 880, t0, 0.16);
    tone(c, 660, t0 + 0.2, 0.22);
    count.value++;
  }

  function setEnabled(on: boolean): void {
    enabled.value = on;
    try {
      localStorage.setItem(STORAGE_KEY, on ? 'on' : 'off');
    } catch {
      // not remembered
    }
    if (on) ensure();
  }

  const unlock = (): void => void ensure();
  window.addEventListener('pointerdown', unlock, { once: true });
  window.addEventListener('keydown', unlock, { once: true });
  onScopeDispose(() => {
    window.removeEventListener('pointerdown', unlock);
    window.removeEventListener('keydown', unlock);
    void ctx?.close();
  });
  return { enabled, count, beep, setEnabled };
}
