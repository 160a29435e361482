/**
 * @nines/chaos: a Toxiproxy-compatible TCP fault proxy (more to come: in-process faults and
 * experiments whose steady state is an SLO).
 */
export {};
