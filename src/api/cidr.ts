/**
 * IPv4 address and CIDR arithmetic (Service ClusterIP ranges, LoadBalancer pools, pod
 * subnets). Addresses are unsigned 32-bit numbers so ranges are plain integer intervals.
 */

/** An IPv4 CIDR: `base` is the network address, `size` the number of addresses in it. */
export interface Cidr {
  base: number;
  size: number;
  prefix: number;
}

/** Parses `a.b.c.d/p`; the host bits are cleared (10.43.0.7/16 is 10.43.0.0/16). */
export function parseCidr(cidr: string): Cidr {
  const slash = cidr.indexOf('/');
  const ip = slash < 0 ? undefined : ipToNumber(cidr.slice(0, slash));
  const prefixText = cidr.slice(slash + 1);
  const prefix = Number(prefixText);
  if (ip === undefined || !/^\d+$/.test(prefixText) || prefix > 32) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  const size = 2 ** (32 - prefix);
  return { base: (ip & ~(size - 1)) >>> 0, size, prefix };
}

/** Dotted-quad text of an address number. */
export function ipToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The number of a dotted-quad address, or undefined when `s` is not one. */
export function ipToNumber(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m || m.slice(1).some((x) => Number(x) > 255)) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** The n-th address of a CIDR (1 = the first usable), e.g. 10.43.0.1 for the kubernetes Service. */
export function nthAddress(cidr: string, n: number): string {
  return ipToString(parseCidr(cidr).base + n);
}

/** The `a.b.c.d/p` text of a CIDR. */
export function cidrToString(c: Cidr): string {
  return `${ipToString(c.base)}/${c.prefix}`;
}

/** Whether `inner` lies wholly inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

/** The i-th subnet of prefix `prefix` inside `outer` (0-based), e.g. subnet(10.42.0.0/16, 24, 3) = 10.42.3.0/24. */
export function subnet(outer: Cidr, prefix: number, i: number): Cidr {
  const size = 2 ** (32 - prefix);
  return { base: (outer.base + i * size) >>> 0, size, prefix };
}
