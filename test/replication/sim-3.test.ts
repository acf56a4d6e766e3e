// Goal: a 3-node Raft cluster stays safe (election safety, log matching, leader
// completeness, state machine safety, durable votes, linearizable reads) and
// live (every acknowledged write applied everywhere after healing) across
// thousands of seeded runs of network faults, crashes and leader transfers.
// STRATA_SIM_SEEDS / STRATA_SIM_START change the range; sim-soak.js runs more.
import t from 'tap';
import { simulateSeeds } from './sim/suite.js';

t.test('simulated 3-node clusters', async (t) => simulateSeeds(t, 3, 2000));
