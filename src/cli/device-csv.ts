/**
 * The operators' device sheet (`Alias,Serial No,Order Code,MAC,IMEI,Type`), as exported from
 * spreadsheets: `,` or `;` separated, quoted fields, a BOM, CRLF line ends.
 */
import { canonicalMac } from '../common/mac.js';
import { HomeportError } from '../errors.js';

/** One record of a CSV file, with the line it starts on (the header is line 1). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A row ready to send as the body of `POST /api/identity/devices`. */
export interface DeviceRow {
  line: number;
  alias: string;
  serial_number: string;
  mac_address: string;
  imei?: string;
  order_code?: string;
  device_type?: string;
}

/** A row that cannot be sent, and why. */
export interface RowProblem {
  line: number;
  mac?: string;
  error: string;
}

/** The columns Homeport reads, by their titles in the sheet. */
const TITLES = {
  alias: 'Alias',
  serial: 'Serial No',
  orderCode: 'Order Code',
  mac: 'MAC',
  imei: 'IMEI',
  type: 'Type',
} as const;

type Column = keyof typeof TITLES;

/** Header names as compared (lower case, letters and digits only), GEN3 spellings included. */
const HEADER_NAMES: Record<string, Column> = {
  alias: 'alias',
  name: 'alias',
  serialno: 'serial',
  serialnumber: 'serial',
  serial: 'serial',
  ordercode: 'orderCode',
  mac: 'mac',
  macaddress: 'mac',
  imei: 'imei',
  type: 'type',
  devicetype: 'type',
};

/**
 * Reads the operators' device sheet: finds the columns by their header names, checks each row
 * and reports problems by line. A MAC that appears twice is refused on its second line.
 *
 * @example
 *   readDeviceRows('MAC;Serial No\n00-0a-14-81-22-33;S1\n').rows;
 *   // [{ line: 2, alias: '00:0A:14:81:22:33', serial_number: 'S1', mac_address: '00:0A:…' }]
 */
export function readDeviceRows(text: string) {
  const [header, ...records] = parseCsv(text);
  if (!header) throw new HomeportError('CSV_INVALID', 'The CSV file is empty; it needs a header.');
  const { columns, ignored } = mapHeader(header.fields);

  const seen = new Map<string, number>();
  const rows = records.map((record): DeviceRow | RowProblem => {
    const row = checkRecord(record, columns, header.fields.length);
    if ('error' in row) return row;
    const first = seen.get(row.mac_address);
    if (first !== undefined) {
      return { line: row.line, mac: row.mac_address, error: `the same MAC is on line ${first}` };
    }
    seen.set(row.mac_address, row.line);
    return row;
  });
  return { rows, ignoredColumns: ignored };
}

function mapHeader(names: string[]) {
  const columns = new Map<Column, number>();
  const ignored: string[] = [];
  names.forEach((name, index) => {
    const key = name.toLowerCase().replace(/[^a-z0-9]/g, '');
    const column = Object.hasOwn(HEADER_NAMES, key) ? HEADER_NAMES[key] : undefined;
    if (column === undefined) {
      if (key !== '') ignored.push(name.trim());
      return;
    }
    if (columns.has(column)) {
      const title = TITLES[column];
      throw new HomeportError('CSV_INVALID', `The CSV header names the ${title} column twice.`);
    }
    columns.set(column, index);
  });

  const missing = (['mac', 'serial'] as const).find((column) => !columns.has(column));
  if (missing) {
    throw new HomeportError(
      'CSV_INVALID',
      `The CSV header has no ${TITLES[missing]} column; it needs ${Object.values(TITLES).join()} ` +
        `(found: ${names.join(', ')}).`,
    );
  }
  return { columns, ignored };
}

function checkRecord(
  { line, fields }: CsvRecord,
  columns: Map<Column, number>,
  width: number,
): DeviceRow | RowProblem {
  const value = (column: Column) => {
    const index = columns.get(column);
    return index === undefined ? '' : (fields[index] ?? '').trim();
  };
  const rawMac = value('mac');
  const mac = canonicalMac(rawMac);
  const problem = (error: string): RowProblem => ({ line, ...(mac && { mac }), error });

  if (fields.slice(width).some((f) => f.trim() !== '')) {
    return problem(`it has ${fields.length} fields, the header has ${width}`);
  }
  if (rawMac === '') return problem('MAC is empty');
  if (!mac) return problem(`MAC '${rawMac}' is not a MAC address; write it as 00:0A:14:81:22:33`);
  if (value('serial') === '') return problem('Serial No is empty');
  const imei = value('imei');
  if (imei !== '' && !/^\d{14,16}$/.test(imei)) {
    return problem(`IMEI '${imei}' is not 14 to 16 digits`);
  }

  const optional = { imei, order_code: value('orderCode'), device_type: value('type') };
  return {
    line,
    alias: value('alias') || mac,
    serial_number: value('serial'),
    mac_address: mac,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== '')),
  };
}

/**
 * A small CSV reader (RFC 4180, leniently): `,` or `;` separators, whichever the header line
 * uses more; `"` quoting with `""` for a quote and line breaks inside quotes; a BOM, CRLF,
 * LF or CR line ends. Blank lines are skipped. Records carry the line they start on.
 *
 * @example
 *   parseCsv('a;b\r\n"x;1";"say ""hi"""\r\n');
 *   // [{ line: 1, fields: ['a', 'b'] }, { line: 2, fields: ['x;1', 'say "hi"'] }]
 */
export function parseCsv(text: string): CsvRecord[] {
  const input = text.replace(/^\uFEFF/, '');
  const separator = detectSeparator(input);
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let quotedFrom = 1;

  const endRecord = () => {
    fields.push(field);
    if (fields.some((f) => f.trim() !== '')) records.push({ line: start, fields });
    fields = [];
    field = '';
  };

  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    const isBreak = c === '\n' || (c === '\r' && input[i + 1] !== '\n');
    if (quoted) {
      if (c !== '"') field += c;
      else if (input[i + 1] === '"') field += input[i++];
      else quoted = false;
      if (isBreak) line++;
      continue;
    }
    if (c === '"' && field.trim() === '') {
      quoted = true;
      quotedFrom = line;
      field = '';
    } else if (c === separator) {
      fields.push(field);
      field = '';
    } else if (isBreak) {
      endRecord();
      start = ++line;
    } else if (c !== '\r') {
      field += c;
    }
  }
  if (quoted) {
    throw new HomeportError(
      'CSV_INVALID',
      `The CSV file has a quoted field that opens on line ${quotedFrom} and never closes; ` +
        'add the closing ".',
    );
  }
  endRecord();
  return records;
}

function detectSeparator(input: string): ',' | ';' {
  const header = input.split(/\r?\n|\r/, 1)[0] ?? '';
  return header.split(';').length > header.split(',').length ? ';' : ',';
}
