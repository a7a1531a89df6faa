import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export interface BarSeries {
  name: string;
  color: string;
  /** one value per category; null leaves a gap */
  values: Array<number | null>;
}

/** Horizontal stacked bars: long Chinese institution names read better on the vertical axis. */
export function HorizontalBarChart({ categories, series, ariaLabel }: { categories: string[]; series: BarSeries[]; ariaLabel: string }) {
  const option = {
    aria: { enabled: true, label: { description: ariaLabel } },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0, show: series.length > 1 },
    grid: { left: 8, right: 40, top: series.length > 1 ? 32 : 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: categories, inverse: true, axisLabel: { width: 200, overflow: 'truncate' } },
    series: series.map((s) => ({
      name: s.name,
      type: 'bar',
      stack: 'total',
      data: s.values,
      itemStyle: { color: s.color },
      label: { show: true, position: 'right' },
      barMaxWidth: 22,
    })),
  };
  return (
    <div role="img" aria-label={ariaLabel}>
      <ReactEChartsCore echarts={echarts} option={option} notMerge style={{ height: Math.max(220, categories.length * 34 + 60) }} />
    </div>
  );
}
