/**
 * MAC addresses as Homeport writes them: upper case, colon-separated (`00:0A:14:81:22:33`).
 * Accepted in any common spelling: colons or dashes, Cisco dots, or bare hex, any case.
 *
 * @example
 *   canonicalMac('00-0a-14-81-22-33'); // '00:0A:14:81:22:33'
 *   canonicalMac('000a.1481.2233');    // '00:0A:14:81:22:33'
 *   canonicalMac('nope');              // undefined
 */
export function canonicalMac(input: string): string | undefined {
  const text = input.trim();
  const separated = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.test(text);
  const dotted = /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/i.test(text);
  const bare = /^[0-9a-f]{12}$/i.test(text);
  if (!separated && !dotted && !bare) return undefined;

  const hex = text.replace(/[:.-]/g, '').toUpperCase();
  return hex.match(/../g)?.join(':');
}
