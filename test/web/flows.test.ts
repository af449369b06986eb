/** The flows between regions (web/src/flows.ts): exact decimal sums per region pair, and a sankey with no cycle. */
import { describe, expect, it } from 'vitest';
import { flowsOption, regionFlows } from '../../web/src/flows.js';

const f = (buyerRegion: string, sellerRegion: string, trades: number, volume: string) => ({ buyerRegion, sellerRegion, trades, volume });

describe('regionFlows', () => {
  it('sums the country flows of a region pair in base units (0.1 + 0.2 is 0.3, not 0.30000000000000004)', () => {
    const rows = regionFlows([f('eu-west', 'us-east', 1, '0.1'), f('eu-west', 'us-east', 2, '0.2'), f('us-east', 'eu-west', 1, '0.00000001')]);
    expect(rows).toEqual([{ from: 'eu-west', to: 'us-east', trades: 3, volume: '0.3' }, { from: 'us-east', to: 'eu-west', trades: 1, volume: '0.00000001' }]);
  });
  it('puts the largest volume first, whole AITBC compared beyond float precision', () => {
    const rows = regionFlows([f('a', 'b', 1, '9999999999.00000001'), f('b', 'a', 1, '9999999999.00000002'), f('c', 'c', 1, '12')]);
    expect(rows.map((r) => `${r.from}>${r.to}:${r.volume}`)).toEqual(['b>a:9999999999.00000002', 'a>b:9999999999.00000001', 'c>c:12']);
  });
  it('has no flows for no trades', () => {
    expect(regionFlows([])).toEqual([]);
  });
});

describe('flowsOption', () => {
  it('draws buyers on the left and sellers on the right, so a trade inside one region is no cycle', () => {
    const o = flowsOption(regionFlows([f('eu-west', 'eu-west', 2, '5'), f('eu-west', 'us-east', 1, '1.5'), f('us-east', 'eu-west', 1, '2')]), { dark: false, text: '#000', muted: '#555' });
    const s = o.series[0]!;
    expect(s.data.map((n) => [n.name, n.depth, n.volume])).toEqual([['buy:eu-west', 0, '6.5'], ['buy:us-east', 0, '2'], ['sell:eu-west', 1, '7'], ['sell:us-east', 1, '1.5']]);
    expect(s.links.every((l) => l.source.startsWith('buy:') && l.target.startsWith('sell:'))).toBe(true);
    expect(s.links.map((l) => [l.source, l.target, l.value, l.volume])).toEqual([['buy:eu-west', 'sell:eu-west', 5, '5'], ['buy:us-east', 'sell:eu-west', 2, '2'], ['buy:eu-west', 'sell:us-east', 1.5, '1.5']]);
    // a region keeps its colour on both sides; labels carry the AITBC amount
    expect(s.data[0]!.itemStyle.color).toBe(s.data[2]!.itemStyle.color);
    expect(s.data.map((n) => n.label.formatter)).toEqual(['eu-west · 6.5 AITBC', 'us-east · 2 AITBC', 'eu-west · 7 AITBC', 'us-east · 1.5 AITBC']);
  });
});
