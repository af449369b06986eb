/**
 * The verifier's buyer looks like any consumer that registered on the platform: a plausible company-ish
 * display name, a country and region, a couple of categories of interest. Drawn from random bytes at
 * first start (so no two installs share it and nothing in the code names it); never "verifier".
 */
const FIRST = ['Kestrel', 'Bluefin', 'Ostara', 'Larch', 'Meridian', 'Quillon', 'Tamarack', 'Verdant', 'Halcyon', 'Ironwood', 'Corvid', 'Saffron',
  'Northgate', 'Brightwater', 'Juniper', 'Calder', 'Wexford', 'Lumen', 'Ember', 'Solway'];
const SECOND = ['Analytics', 'Labs', 'Research', 'Systems', 'AI', 'Data', 'Works', 'Dynamics', 'Intelligence', 'Studio', 'Robotics', 'Insights'];
const PLACES: ReadonlyArray<readonly [string, string]> = [
  ['DE', 'eu-west'], ['NL', 'eu-west'], ['FR', 'eu-west'], ['GB', 'eu-west'], ['SE', 'eu-north'], ['US', 'us-east'], ['US', 'us-west'],
  ['CA', 'us-east'], ['JP', 'ap-northeast'], ['SG', 'ap-southeast'],
];
const CATEGORIES = ['gpu_compute', 'inference', 'training', 'data_services', 'model_services'] as const;

export interface Persona {
  displayName: string;
  type: 'consumer';
  country: string;
  region: string;
  categories: Array<(typeof CATEGORIES)[number]>;
}

/** A persona from 8 random bytes. */
export function personaFrom(bytes: Buffer): Persona {
  const b = (i: number) => bytes[i % bytes.length]!;
  const [country, region] = PLACES[b(2) % PLACES.length]!;
  const first = CATEGORIES[b(3) % CATEGORIES.length]!;
  const second = CATEGORIES[(b(3) + 1 + (b(4) % (CATEGORIES.length - 1))) % CATEGORIES.length]!;
  return {
    displayName: `${FIRST[b(0) % FIRST.length]} ${SECOND[b(1) % SECOND.length]}`,
    type: 'consumer', country, region, categories: b(5) % 3 === 0 ? [first] : [first, second],
  };
}
