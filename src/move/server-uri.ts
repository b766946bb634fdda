/** Default ports of the schemes a Homeport server URI uses. */
const DEFAULT_PORTS: Record<string, string> = { 'https:': '443', 'http:': '80', 'mqtts:': '8883' };

/**
 * A server URI in one comparable form: scheme and host in lower case, the port always written
 * (443 for https), no trailing slash, no query or fragment. Undefined if it is not a URL.
 * The device reports its Bootstrap Server as it was configured, which need not be spelt as the
 * deployment's own `/api/info` spells it; compared literally the two would miss each other.
 *
 * @example
 *   normalizeServerUri('HTTPS://BS.Example.com/');      // 'https://bs.example.com:443'
 *   normalizeServerUri('https://bs.example.com:443');   // 'https://bs.example.com:443'
 *   normalizeServerUri('https://[::1]:8884');           // 'https://[::1]:8884'
 */
export function normalizeServerUri(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri.trim());
  } catch {
    return undefined;
  }
  if (url.hostname === '') return undefined;
  const scheme = url.protocol.toLowerCase();
  const port = url.port || DEFAULT_PORTS[scheme] || '';
  const path = url.pathname.replace(/\/+$/, '');
  return `${scheme}//${url.hostname.toLowerCase()}${port ? `:${port}` : ''}${path}`;
}

/** True if both URIs name the same server once normalised. */
export function sameServerUri(a: string, b: string): boolean {
  const left = normalizeServerUri(a);
  return left !== undefined && left === normalizeServerUri(b);
}
