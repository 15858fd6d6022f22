/**
 * ECharts, registered part by part (echarts/core + use): only the charts and components the pages draw, so the
 * bundle carries nothing else.
 */
import { BarChart, LineChart, LinesChart, ScatterChart } from 'echarts/charts';
import { DataZoomComponent, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import { init, use, type ECharts } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

use([LineChart, ScatterChart, BarChart, LinesChart, GridComponent, TooltipComponent, LegendComponent, DataZoomComponent, MarkLineComponent, CanvasRenderer]);

export { init };
export type { ECharts };
