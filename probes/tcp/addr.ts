/**
 * Socket addresses as the kernel stores them (16 bytes, network order) to text.
 *
 * @module
 */

/** AF_INET and AF_INET6. */
export const AF_INET = 2, AF_INET6 = 10;

/**
 * Format an address: dotted IPv4 for AF_INET and for IPv4-mapped IPv6 (`::ffff:a.b.c.d`),
 * compressed IPv6 otherwise.
 */
export function formatAddr(family: number, a: Uint8Array): string {
  if (family === AF_INET) return `${a[0]}.${a[1]}.${a[2]}.${a[3]}`;
  const mapped = a.subarray(0, 10).every((b) => b === 0) && a[10] === 0xff && a[11] === 0xff;
  if (mapped) return `${a[12]}.${a[13]}.${a[14]}.${a[15]}`;
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((a[i] << 8) | a[i + 1]);
  // Longest run of zero words (length >= 2) becomes "::".
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (best < 0) return hex(words);
  return `${hex(words.slice(0, best))}::${hex(words.slice(best + bestLen))}`;
}
