/** MQTT topics of the management interface (docs/protocol.md §4). */

/** Everything of one device lives under this prefix; it may use nothing else. */
export function devicePrefix(mac: string): string {
  return `dm/${mac}/`;
}

export const topics = {
  status: (mac: string) => `dm/${mac}/status`,
  register: (mac: string) => `dm/${mac}/register`,
  update: (mac: string) => `dm/${mac}/update`,
  notify: (mac: string) => `dm/${mac}/notify`,
  request: (mac: string, id: string) => `dm/${mac}/req/${id}`,
  response: (mac: string, id: string) => `dm/${mac}/rsp/${id}`,
};

/** Splits `dm/<mac>/<kind>[/<id>]`; undefined for anything else. */
export function parseTopic(topic: string): { mac: string; kind: string; id?: string } | undefined {
  const parts = topic.split('/');
  if (parts[0] !== 'dm' || parts.length < 3 || parts.length > 4) return undefined;
  const [, mac = '', kind = '', id] = parts;
  return id === undefined ? { mac, kind } : { mac, kind, id };
}
