/** The geography page's charts: the map chart, the visual map, the world-atlas TopoJSON and the flows' sankey, in a chunk of its own (the page loads it). */
import { feature } from 'topojson-client';
import { MapChart, SankeyChart } from 'echarts/charts';
import { VisualMapComponent } from 'echarts/components';
import world from 'world-atlas/countries-110m.json';
import { echarts } from './chart.js';

echarts.use([MapChart, SankeyChart, VisualMapComponent]);
const t = world as any;
const geo = feature(t, t.objects.countries) as any;
// Antarctica takes a fifth of the height and says nothing here; Fiji and Russia's far east cross the
// antimeridian, which a flat map draws as lines across the world: clamp their points to the edge
geo.features = geo.features.filter((f: any) => f.properties.name !== 'Antarctica');
for (const f of geo.features) {
  if (f.properties.name !== 'Russia' && f.properties.name !== 'Fiji') continue;
  const fix = (c: any): any => (typeof c[0] === 'number' ? [c[0] < -160 ? 180 : c[0], c[1]] : c.map(fix));
  f.geometry.coordinates = fix(f.geometry.coordinates);
}
echarts.registerMap('world', geo);

/** The names of the map's countries (Natural Earth's English names). */
export const countryNames: string[] = geo.features.map((f: any) => f.properties.name as string);
