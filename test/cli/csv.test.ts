import { describe, expect, it } from 'vitest';
import { parseCsv, readDeviceRows } from '../../src/cli/device-csv.js';
import { isHomeportError } from '../../src/errors.js';

const fields = (text: string) => parseCsv(text).map((r) => r.fields);

describe('parseCsv', () => {
  it('reads commas, or semicolons when the header has more of them', () => {
    expect(fields('a,b;c\n1,2;3\n')).toEqual([
      ['a', 'b;c'],
      ['1', '2;3'],
    ]);
    expect(fields('a;b;c,d\n1;2;3,4\n')).toEqual([
      ['a', 'b', 'c,d'],
      ['1', '2', '3,4'],
    ]);
  });

  it('unquotes fields, with doubled quotes and separators and line breaks inside', () => {
    expect(fields('a,b\n"x, y","say ""hi"""\n"two\r\nlines",z\n')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['two\r\nlines', 'z'],
    ]);
  });

  it('drops a BOM, takes CRLF, LF and CR, skips blank lines and numbers records by line', () => {
    const records = parseCsv('\uFEFFa,b\r\n1,2\r\n\r\n  \n,\n3,4\r5,6');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['1', '2'] },
      { line: 6, fields: ['3', '4'] },
      { line: 7, fields: ['5', '6'] },
    ]);
  });

  it('counts the lines inside a quoted field for the records after it', () => {
    expect(parseCsv('a\n"1\n2\n3"\nnext').map((r) => r.line)).toEqual([1, 2, 5]);
  });

  it('keeps empty trailing fields and a record without a final line break', () => {
    expect(fields('a,b,c\n1,,')).toEqual([
      ['a', 'b', 'c'],
      ['1', '', ''],
    ]);
    expect(fields('')).toEqual([]);
  });

  it('refuses a quoted field that is never closed, naming the line it opens on', () => {
    let error: unknown;
    try {
      parseCsv('a,b\n1,2\n3,"open\n\n');
    } catch (err) {
      error = err;
    }
    expect(isHomeportError(error, 'CSV_INVALID')).toBe(true);
    expect((error as Error).message).toContain('opens on line 3');
  });
});

describe('readDeviceRows', () => {
  it('maps the operator sheet to request bodies, MAC in canonical form', () => {
    const { rows, ignoredColumns } = readDeviceRows(
      'Alias,Serial No,Order Code,MAC,IMEI,Type,CompanyId\n' +
        ' Pump , SN1 ,OC,00-0a-14-81-22-33,356938035643809,ICR-3241,7\n' +
        ',SN2,,000a.1481.2234,,,\n',
    );
    expect(ignoredColumns).toEqual(['CompanyId']);
    expect(rows).toEqual([
      {
        line: 2,
        alias: 'Pump',
        serial_number: 'SN1',
        mac_address: '00:0A:14:81:22:33',
        imei: '356938035643809',
        order_code: 'OC',
        device_type: 'ICR-3241',
      },
      {
        line: 3,
        alias: '00:0A:14:81:22:34',
        serial_number: 'SN2',
        mac_address: '00:0A:14:81:22:34',
      },
    ]);
  });

  it('finds columns by name in any case and order, with the GEN3 spellings', () => {
    const { rows } = readDeviceRows('macaddress;NAME;Serial\n00:0A:14:81:22:33;Gate;S9\n');
    expect(rows).toEqual([
      { line: 2, alias: 'Gate', serial_number: 'S9', mac_address: '00:0A:14:81:22:33' },
    ]);
  });

  it('reports each bad row by line with the reason', () => {
    const { rows } = readDeviceRows(
      [
        'MAC,Serial No,IMEI',
        ',S1,',
        'nope,S2,',
        '00:0A:14:81:22:33,,',
        '00:0A:14:81:22:34,S4,35693803564380X',
        '00:0A:14:81:22:35,S5,,extra',
        '00:0A:14:81:22:36,S6,,,',
        '00:0a:14:81:22:36,S7,',
      ].join('\n'),
    );
    expect(rows).toEqual([
      { line: 2, error: 'MAC is empty' },
      { line: 3, error: "MAC 'nope' is not a MAC address; write it as 00:0A:14:81:22:33" },
      { line: 4, mac: '00:0A:14:81:22:33', error: 'Serial No is empty' },
      {
        line: 5,
        mac: '00:0A:14:81:22:34',
        error: "IMEI '35693803564380X' is not 14 to 16 digits",
      },
      { line: 6, mac: '00:0A:14:81:22:35', error: 'it has 4 fields, the header has 3' },
      {
        line: 7,
        alias: '00:0A:14:81:22:36',
        serial_number: 'S6',
        mac_address: '00:0A:14:81:22:36',
      },
      { line: 8, mac: '00:0A:14:81:22:36', error: 'the same MAC is on line 7' },
    ]);
  });

  it('refuses a sheet without the MAC or Serial No column, or with one named twice', () => {
    const message = (text: string) => {
      try {
        readDeviceRows(text);
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(message('Alias,Serial No\n')).toContain('has no MAC column');
    expect(message('MAC,Alias\n')).toContain('has no Serial No column');
    expect(message('MAC,Serial No,Mac Address\n')).toContain('names the MAC column twice');
    expect(message('')).toContain('The CSV file is empty');
  });
});
