/** A series for TrendChart: plain [ts, value] points owned by the caller, a bounded window. */
export interface TrendSeries {
  name: string;
  color: string;
  data: readonly (readonly [number, number])[];
  dashed?: boolean;
  area?: boolean;
  /** Second y axis (right). */
  right?: boolean;
  step?: boolean;
}
