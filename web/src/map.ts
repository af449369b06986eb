/** The world map: the map chart, the visual map and the world-atlas TopoJSON, in a chunk of its own (the geography page loads it). */
import { feature } from 'topojson-client';
import { MapChart } from 'echarts/charts';
import { VisualMapComponent } from 'echarts/components';
import world from 'world-atlas/countries-110m.json';
import { echarts } from './chart.js';

echarts.use([MapChart, VisualMapComponent]);
const t = world as any;
const geo = feature(t, t.objects.countries) as any;
echarts.registerMap('world', geo);

/** The names of the map's countries (Natural Earth's English names). */
export const countryNames: string[] = geo.features.map((f: any) => f.properties.name as string);
