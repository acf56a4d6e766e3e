// Goal: as sim-3, on 5-node clusters, which also remove and re-add voters
// (single-server membership changes) while faults happen.
import t from 'tap';
import { simulateSeeds } from './sim/suite.js';

t.test('simulated 5-node clusters', async (t) => simulateSeeds(t, 5, 2000));
