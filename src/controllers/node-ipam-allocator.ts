/**
 * The pod-range allocator of the node IPAM controller, after upstream's cidrset: the cluster
 * CIDR cut into subnets of one mask size, each free or used. Pure bookkeeping: the controller
 * decides when to allocate, occupy (ranges nodes already have) and release (deleted nodes).
 */
import { cidrContains, cidrToString, parseCidr, subnet, type Cidr } from '../api/cidr.js';

/** Subnets of one size carved out of a cluster CIDR. */
export class CidrSet {
  private readonly cluster: Cidr;
  private readonly used = new Set<number>();
  /** Where the next search starts, so freed ranges are not handed out again at once (upstream's nextCandidate). */
  private next = 0;
  readonly count: number;

  /** Throws a clear error when the mask size does not fit the cluster CIDR. */
  constructor(clusterCidr: string, readonly maskSize: number) {
    this.cluster = parseCidr(clusterCidr);
    if (!Number.isInteger(maskSize) || maskSize < this.cluster.prefix || maskSize > 32) {
      throw new Error(`node CIDR mask size ${maskSize} does not fit in cluster CIDR ${cidrToString(this.cluster)}`);
    }
    this.count = 2 ** (maskSize - this.cluster.prefix);
  }

  /** The next free subnet, marked used; undefined when every subnet is taken. */
  allocateNext(): string | undefined {
    for (let k = 0; k < this.count; k++) {
      const i = (this.next + k) % this.count;
      if (this.used.has(i)) continue;
      this.used.add(i);
      this.next = (i + 1) % this.count;
      return cidrToString(subnet(this.cluster, this.maskSize, i));
    }
    return undefined;
  }

  /** Marks `cidr` used; false when it is not one of this set's subnets (outside, or another size). */
  occupy(cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    this.used.add(i);
    return true;
  }

  /** Frees `cidr`; ranges not from this set are ignored. */
  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i !== undefined) this.used.delete(i);
  }

  /** Whether `cidr` is one of this set's subnets and in use. */
  isUsed(cidr: string): boolean {
    const i = this.indexOf(cidr);
    return i !== undefined && this.used.has(i);
  }

  private indexOf(cidr: string): number | undefined {
    let c: Cidr;
    try { c = parseCidr(cidr); } catch { return undefined; }
    if (c.prefix !== this.maskSize || !cidrContains(this.cluster, c)) return undefined;
    return (c.base - this.cluster.base) / c.size;
  }
}
