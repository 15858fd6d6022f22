/**
 * A substation's control state for the pages: its view (mode, writes enabled, bounds, latest advice), advice history,
 * setpoint history and curve; reloaded when the hub announces new advice or a setpoint write for it (topics "advice"
 * and "setpoints"), and after a reconnect.
 */
import { shallowRef, watch, type Ref } from 'vue';
import { api, qs } from '../api/http.ts';
import type { Advice, ControlSubstation, CurveResponse, SetpointWrite } from '../api/types.ts';
import { scoped, type Live } from './live.ts';

export function useSubstationControl(live: Live, asset: Ref<string | null>, opts: { curve?: boolean; adviceLimit?: number; writesLimit?: number } = {}) {
  const view = shallowRef<ControlSubstation | null>(null);
  const advice = shallowRef<Advice[]>([]);
  const writes = shallowRef<SetpointWrite[]>([]);
  const curve = shallowRef<CurveResponse | null>(null);
  const error = shallowRef<string | null>(null);
  let seq = 0;

  async function loadView(): Promise<void> {
    const id = asset.value;
    if (!id) return;
    const r = await api<{ substation: ControlSubstation }>(`/api/control/substations/${encodeURIComponent(id)}`);
    if (asset.value === id) view.value = r.substation;
  }
  async function loadAdvice(): Promise<void> {
    const id = asset.value;
    if (!id) return;
    const r = await api<{ advice: Advice[] }>(`/api/control/substations/${encodeURIComponent(id)}/advice${qs({ limit: opts.adviceLimit ?? 10 })}`);
    if (asset.value === id) advice.value = r.advice;
  }
  async function loadWrites(): Promise<void> {
    const id = asset.value;
    if (!id) return;
    const r = await api<{ writes: SetpointWrite[] }>(`/api/control/substations/${encodeURIComponent(id)}/setpoints${qs({ limit: opts.writesLimit ?? 20 })}`);
    if (asset.value === id) writes.value = r.writes;
  }
  async function loadCurve(): Promise<void> {
    const id = asset.value;
    if (!id || !opts.curve) return;
    const r = await api<CurveResponse>(`/api/control/substations/${encodeURIComponent(id)}/curve`);
    if (asset.value === id) curve.value = r;
  }

  async function loadAll(): Promise<void> {
    const my = ++seq;
    try {
      await Promise.all([loadView(), loadAdvice(), loadWrites(), loadCurve()]);
      if (my === seq) error.value = null;
    } catch (err) {
      if (my === seq) error.value = (err as Error).message;
    }
  }

  live.addTopics(['advice', 'setpoints']);
  scoped(
    live.onEvent('advice', (d) => {
      if ((d as Advice | null)?.asset === asset.value) void Promise.all([loadView(), loadAdvice()]).catch(() => undefined);
    }),
  );
  scoped(
    live.onEvent('setpoints', (d) => {
      if ((d as SetpointWrite | null)?.asset === asset.value) void Promise.all([loadView(), loadWrites()]).catch(() => undefined);
    }),
  );
  scoped(live.onReconnect(() => void loadAll()));
  watch(
    asset,
    () => {
      view.value = null;
      advice.value = [];
      writes.value = [];
      curve.value = null;
      void loadAll();
    },
    { immediate: true },
  );

  return { view, advice, writes, curve, error, reload: loadAll, reloadWrites: loadWrites, reloadView: loadView, reloadCurve: loadCurve };
}
