import { describe, expect, it } from 'vitest';

import { isForeignKeyViolation, isUniqueViolation, toInt } from '../../src/store/sql-helpers.js';

describe('driver values and errors', () => {
  it('integers that PostgreSQL returns as strings are read as numbers', () => {
    expect(toInt('42')).toBe(42);
    expect(toInt(7n)).toBe(7);
    expect(toInt(3)).toBe(3);
  });

  it('an integer beyond 2^53 is refused rather than rounded', () => {
    expect(() => toInt('9007199254740993')).toThrow(RangeError);
  });

  it('unique violations of either driver are recognised, other errors are not', () => {
    expect(isUniqueViolation({ code: '23505' })).toBe(true);
    expect(isUniqueViolation({ code: 'SQLITE_CONSTRAINT_UNIQUE' })).toBe(true);
    expect(isUniqueViolation({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })).toBe(true);
    expect(isUniqueViolation({ code: '23503' })).toBe(false);
    expect(isUniqueViolation(new Error('unique'))).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
  });

  it('foreign-key violations of either driver are recognised', () => {
    expect(isForeignKeyViolation({ code: '23503' })).toBe(true);
    expect(isForeignKeyViolation({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' })).toBe(true);
    expect(isForeignKeyViolation({ code: '23505' })).toBe(false);
  });
});
