/**
 * One ECharts instance bound to an element: created on mount, kept in a shallowRef (never deep-reactive), resized with
 * its element, disposed with the component. Data goes in through `set(option)` (ECharts merges), a bounded window at a
 * time; nothing about the series is reactive.
 */
import { onBeforeUnmount, onMounted, shallowRef, type Ref } from 'vue';
import { init, type ECharts } from '../lib/echarts.ts';

type Option = Parameters<ECharts['setOption']>[0];

export function useChart(el: Ref<HTMLElement | null>, base: () => Option, opts: { onClick?: (p: { seriesId?: string; dataIndex: number; data: unknown }) => void } = {}) {
  const chart = shallowRef<ECharts | null>(null);
  let ro: ResizeObserver | null = null;
  let pending: Option[] = [];

  onMounted(() => {
    if (!el.value) return;
    const c = init(el.value, undefined, { renderer: 'canvas' });
    c.setOption(base());
    for (const o of pending) c.setOption(o);
    pending = [];
    if (opts.onClick) c.on('click', (p) => opts.onClick!(p as unknown as { seriesId?: string; dataIndex: number; data: unknown }));
    chart.value = c;
    ro = new ResizeObserver(() => c.resize());
    ro.observe(el.value);
  });

  onBeforeUnmount(() => {
    ro?.disconnect();
    chart.value?.dispose();
    chart.value = null;
  });

  return {
    chart,
    /** Merge an option (series data, axis ranges); queued until the chart exists. */
    set(option: Option, notMerge = false): void {
      if (chart.value) chart.value.setOption(option, notMerge ? { notMerge: true } : { lazyUpdate: true });
      else pending.push(option);
    },
    /** Replace everything (e.g. after a language switch): base option plus the given one. */
    reset(option?: Option): void {
      if (!chart.value) return;
      chart.value.setOption(base(), { notMerge: true });
      if (option) chart.value.setOption(option);
    },
  };
}
