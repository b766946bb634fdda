import { describe, expect, it } from 'vitest';
import {
  executePath,
  objectTree,
  planWrite,
  readPath,
  type RuntimeValues,
} from '../../src/device/objects.js';
import { fromSenml, toSenml } from '../../src/device/senml.js';
import type { Instances } from '../../src/device/types.js';

const instances: Instances = {
  '/0/0': { '0': 'https://bs:8884', '1': true, '5': 'PEM' },
  '/0/1': { '0': 'mqtts://ms:8883', '1': false, '5': 'PEM' },
  '/1/0': { '0': 1, '1': 300, '16': true, '17': 3 },
};
const source = {
  instances,
  identity: {
    mac: '02:48:50:00:00:01',
    serial: 'HP002509603078145',
    imei: '359601100781451',
    alias: 'gw-000001',
    orderCode: 'HP-GW1-EU',
    type: 'HP-GW1',
  },
  manufacturer: 'Homeport',
};
const runtime: RuntimeValues = {
  firmwareVersion: '1.0.0',
  ipAddresses: ['127.0.0.150', '::1'],
  signalStrength: -67,
  now: new Date('2026-01-01T00:00:00Z'),
};
const tree = objectTree(source, runtime);

describe('SenML encoding of reads (RFC 8428)', () => {
  it('a read of a path that does not exist is 4.04, of the Security object 4.01, of Reboot 4.05', () => {
    expect(readPath(tree, '/3/1')).toEqual({ code: '4.04' });
    expect(readPath(tree, '/3/0/99')).toEqual({ code: '4.04' });
    expect(readPath(tree, '/5')).toEqual({ code: '4.04' });
    expect(readPath(tree, '/0/1')).toEqual({ code: '4.01' });
    expect(readPath(tree, '/3/0/4')).toEqual({ code: '4.05' });
    expect(readPath(tree, '3/0')).toEqual({ code: '4.00' });
  });

  it('a read of /3/0 names each resource under base name /3/0/, with vs, v by type', () => {
    expect(readPath(tree, '/3/0')).toEqual({
      code: '2.05',
      payload: [
        { bn: '/3/0/', n: '0', vs: 'Homeport' },
        { n: '1', vs: 'HP-GW1' },
        { n: '2', vs: 'HP002509603078145' },
        { n: '3', vs: '1.0.0' },
        { n: '13', v: 1767225600 },
        { n: '17', vs: 'gateway' },
      ],
    });
  });

  it('a read of one resource, of a boolean, and of a multiple-instance resource', () => {
    expect(readPath(tree, '/3/0/2')).toEqual({
      code: '2.05',
      payload: [{ bn: '/3/0/', n: '2', vs: 'HP002509603078145' }],
    });
    expect(readPath(tree, '/1/0/16').payload).toEqual([{ bn: '/1/0/', n: '16', vb: true }]);
    expect(readPath(tree, '/4/0/4').payload).toEqual([
      { bn: '/4/0/', n: '4/0', vs: '127.0.0.150' },
      { n: '4/1', vs: '::1' },
    ]);
    expect(readPath(tree, '/4').payload?.[0]).toEqual({ bn: '/4/', n: '0/2', v: -67 });
  });

  it('decodes what it encodes, resolving base names', () => {
    const pack = toSenml('/1/0/', [
      ['1', 600],
      ['16', false],
      ['x', 'y'],
    ]);
    expect(fromSenml(pack)).toEqual([
      ['/1/0/1', 600],
      ['/1/0/16', false],
      ['/1/0/x', 'y'],
    ]);
    expect(fromSenml([{ n: 'a' }])).toBeUndefined();
    expect(fromSenml({})).toBeUndefined();
  });
});

describe('Write and Execute', () => {
  it('refuses writes to the Security object, to read-only objects and with wrong types', () => {
    expect(planWrite(instances, '/0/1/0', 'mqtts://evil:1').code).toBe('4.01');
    expect(planWrite(instances, '/3/0/0', 'x').code).toBe('4.05');
    expect(planWrite(instances, '/1/0/0', 7).code).toBe('4.05');
    expect(planWrite(instances, '/1/0/1', 'long').code).toBe('4.00');
    expect(planWrite(instances, '/1/0/1', 0).code).toBe('4.00');
    expect(planWrite(instances, '/1/1/1', 60).code).toBe('4.04');
    expect(planWrite(instances, '/1', {}).code).toBe('4.05');
  });

  it('writes Server resources as a value, a map or a SenML pack', () => {
    const single = planWrite(instances, '/1/0/1', 600);
    expect(single.code).toBe('2.04');
    expect(single.instances?.['/1/0']['1']).toBe(600);
    expect(single.changed).toEqual(['/1/0/1']);
    expect(instances['/1/0']['1']).toBe(300);

    const map = planWrite(instances, '/1/0', { '17': 5, '18': 10 });
    expect(map.instances?.['/1/0']).toMatchObject({ '17': 5, '18': 10 });
    const senml = planWrite(instances, '/1/0', [{ bn: '/1/0/', n: '16', vb: false }]);
    expect(senml.instances?.['/1/0']['16']).toBe(false);
    expect(planWrite(instances, '/1/0', [{ bn: '/1/1/', n: '16', vb: false }]).code).toBe('4.00');
  });

  it('executes /1/0/9 as a bootstrap trigger and /3/0/4 as a reboot; nothing else', () => {
    expect(executePath(tree, '/1/0/9')).toEqual({ code: '2.04', action: 'bootstrap-trigger' });
    expect(executePath(tree, '/3/0/4')).toEqual({ code: '2.04', action: 'reboot' });
    expect(executePath(tree, '/3/0/0')).toEqual({ code: '4.05' });
    expect(executePath(tree, '/1/7/9')).toEqual({ code: '4.04' });
    expect(executePath(tree, '/3/0')).toEqual({ code: '4.05' });
    expect(executePath(tree, '/0/0/1')).toEqual({ code: '4.01' });
  });
});
