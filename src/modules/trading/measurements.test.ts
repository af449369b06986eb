import { describe, expect, it } from 'vitest';
import { contradictions, resolveMeasurements } from './measurements.js';

const terms = { quantity: 10, slaMaxLatencyMs: 200, slaAvailability: 0.99 };
const platform = { deliveryMs: 1000, deadlineMet: true };

describe('who measured what', () => {
  it('contradiction tolerances: latency max(50 ms, 25%), accuracy 0.05, acceptance against 0.5, units 1% of the quantity', () => {
    expect(contradictions({ latencyMs: 100 }, { latencyMs: 150 }, 1)).toEqual([]);
    expect(contradictions({ latencyMs: 100 }, { latencyMs: 151 }, 1)).toEqual(['latencyMs']);
    expect(contradictions({ latencyMs: 1000 }, { latencyMs: 1250 }, 1)).toEqual([]);
    expect(contradictions({ accuracy: 0.95 }, { accuracy: 0.9 }, 1)).toEqual([]);
    expect(contradictions({ accuracy: 0.95 }, { accuracy: 0.89 }, 1)).toEqual(['accuracy']);
    expect(contradictions({ accuracy: 0.95 }, { accepted: false }, 1)).toEqual(['accuracy']);
    expect(contradictions({ accuracy: 0.3 }, { accepted: true }, 1)).toEqual(['accuracy']);
    expect(contradictions({ usage: 10 }, { unitsDelivered: 9 }, 10)).toEqual(['unitsDelivered']);
    expect(contradictions({ usage: 10 }, { unitsDelivered: 9.95 }, 10)).toEqual([]);
    expect(contradictions({ latencyMs: 1 }, null, 1)).toEqual([]);
  });

  it('the buyer\'s value, else the uncontradicted claim, else nothing; disputed fields follow the ending, never an average', () => {
    const claim = { latencyMs: 20, accuracy: 0.99 };
    const buyer = { latencyMs: 300, accepted: false };
    expect(resolveMeasurements(claim, buyer, platform, terms, 'confirm')).toMatchObject({ latencyMs: 300, accuracy: 0, disputed: ['latencyMs', 'accuracy'], slaMet: false });
    expect(resolveMeasurements(claim, buyer, platform, terms, 'release')).toMatchObject({ latencyMs: 20, accuracy: 0.99, measuredBy: { latencyMs: 'seller' } });
    expect(resolveMeasurements(claim, buyer, platform, terms, 'split')).toMatchObject({ latencyMs: null, accuracy: null });
    const none = resolveMeasurements(null, null, { deliveryMs: null, deadlineMet: null }, terms, 'none');
    expect(none).toMatchObject({ latencyMs: null, accuracy: null, slaMet: null, measuredBy: {} });
    expect(none.unmeasured).toEqual(['latencyMs', 'accuracy', 'availability', 'unitsDelivered', 'slaMet']);
  });
});
