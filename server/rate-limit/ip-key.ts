import net from 'node:net';

/**
 * The counter key of a client address. IPv4 counts per address. IPv6 counts
 * per /64: one subscriber or host usually holds a whole /64, so counting
 * single addresses would let one attacker rotate through 2^64 fresh keys and
 * never meet an IP limit. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a
 * dual-stack listener reports) counts as the IPv4 address.
 */
export function ipKey(ip: string): string {
  const bare = ip.split('%')[0]!; // drop an interface zone (fe80::1%eth0)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1]!;
  if (net.isIPv6(bare)) return `${expandIpv6(bare).slice(0, 4).join(':')}::/64`;
  return bare;
}

/** Longest address stored or counted (the ip columns are varchar(64)). */
const MAX_ADDRESS = 64;

/**
 * The client address of a request: what Express resolved from
 * X-Forwarded-For as far as TRUST_PROXY allows, when that is an IP address;
 * otherwise the address of the hop that sent the request. A forwarded value
 * that is not an address (garbage, a name, 300 forged characters) is thus
 * ignored: it can neither overflow an IP column nor open a fresh rate-limit
 * counter per request.
 */
export function clientAddress(resolved: string | undefined, socketAddress: string | undefined): string | null {
  for (const candidate of [resolved, socketAddress]) {
    if (candidate && candidate.length <= MAX_ADDRESS && net.isIP(candidate.split('%')[0]!) !== 0) return candidate;
  }
  return null;
}

/** The eight 16-bit groups of an IPv6 address, lower-case, without leading zeros. */
function expandIpv6(ip: string): string[] {
  // A trailing dotted quad (::1.2.3.4) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  let text = ip;
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = ip.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}
