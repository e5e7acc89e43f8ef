/** Sources of identifiers the core needs; implemented outside the core (crypto randomness). */
export interface IdSource {
  /**
   * A new entity-tag (RFC 3903 §4.1): unique across restarts and across the
   * nodes of a cluster (the implementation prefixes the node id).
   */
  newEtag(): string;
  /** A new opaque identifier for a subscription. */
  newId(): string;
}

/** Deterministic ids for tests and the sequential model: `<prefix><counter>`. */
export class CountingIds implements IdSource {
  private n = 0;
  constructor(private readonly prefix = '') {}
  newEtag(): string {
    return `${this.prefix}e${++this.n}`;
  }
  newId(): string {
    return `${this.prefix}s${++this.n}`;
  }
}
