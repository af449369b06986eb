/**
 * One ECharts chart. Only the chart types and components the pages use are registered (echarts/core), to
 * keep the bundle small. Each chart's option is kept in `window.__charts[name]`, and its ECharts instance in
 * `window.__echarts[name]`, so the browser tests can compare the drawn data (getOption()) with the API's.
 */
import { useEffect, useRef } from 'preact/hooks';
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { useTheme } from './theme.js';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export type Option = echarts.EChartsCoreOption;
export { echarts };

declare global {
  interface Window { __charts?: Record<string, Option>; __drawn?: Record<string, number>; __echarts?: Record<string, echarts.ECharts> }
}

export function palette(dark: boolean) {
  return {
    text: dark ? '#d7dce5' : '#2b3340', muted: dark ? '#98a2b3' : '#5b6575', line: dark ? '#3a4352' : '#d5dae2',
    colors: dark ? ['#6aa6ff', '#f2b45a', '#5ed3a0', '#f27a8a', '#b89cff'] : ['#1f5fbf', '#c47a12', '#1a8a5a', '#c23a4c', '#6b4fc4'],
  };
}

export function Chart(props: { name: string; option: Option; height?: number; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  const theme = useTheme();
  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, undefined, { renderer: 'canvas' });
    chart.current = c;
    (window.__echarts ??= {})[props.name] = c;
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => { ro.disconnect(); c.dispose(); chart.current = null; if (window.__echarts?.[props.name] === c) delete window.__echarts[props.name]; };
  }, []);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    const p = palette(theme === 'dark');
    c.setOption({
      backgroundColor: 'transparent', color: p.colors, animationDuration: 300, textStyle: { color: p.text, fontFamily: 'inherit' },
      tooltip: { trigger: 'axis' }, legend: { textStyle: { color: p.text }, top: 0, type: 'scroll' },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      ...props.option,
    }, { notMerge: true, lazyUpdate: false });
    // setOption draws synchronously (the entry animation runs on after): the chart is on screen now
    (window.__charts ??= {})[props.name] = props.option;
    (window.__drawn ??= {})[props.name] = performance.now();
  }, [props.option, theme]);
  return <div class="chart" ref={el} role="img" aria-label={props.label} data-chart={props.name} style={{ height: `${props.height ?? 260}px` }} />;
}

/** Axis styles for the current theme. */
export function axes(dark: boolean, range?: { from: string; to: string }) {
  const p = palette(dark);
  const common = { axisLine: { lineStyle: { color: p.line } }, axisLabel: { color: p.muted }, splitLine: { lineStyle: { color: p.line, type: 'dashed' as const } } };
  return { x: { type: 'time' as const, ...common, splitLine: { show: false }, ...(range ? { min: range.from, max: range.to } : {}) }, y: { type: 'value' as const, ...common, scale: true } };
}
