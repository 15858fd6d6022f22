import { DuckDBDataChunk, DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { appendSamples, CHUNK_ROWS, SAMPLE_TYPES, SampleColumns } from './writer.ts';

describe('SampleColumns', () => {
  it('grows and keeps what it holds', () => {
    const c = new SampleColumns(2);
    for (let i = 0; i < 5; i++) c.push(i, 1_000 + i, i / 2, i % 3);
    expect(c.length).toBe(5);
    expect([...c.series.subarray(0, 5)]).toEqual([0, 1, 2, 3, 4]);
    expect([...c.ts.subarray(0, 5)]).toEqual([1000, 1001, 1002, 1003, 1004]);
    expect([...c.value.subarray(0, 5)]).toEqual([0, 0.5, 1, 1.5, 2]);
    expect([...c.quality.subarray(0, 5)]).toEqual([0, 1, 2, 0, 1]);
    c.clear();
    expect(c.length).toBe(0);
  });
});

describe('appendSamples', () => {
  it('appends a range spanning several data chunks exactly', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      await conn.run('CREATE TABLE t (series INTEGER, ts BIGINT, value DOUBLE, quality UTINYINT)');
      const appender = await conn.createAppender('t');
      const cols = new SampleColumns();
      const n = 2 * CHUNK_ROWS + 17;
      // Runs of equal timestamps, as fields of one reading, with a large epoch value.
      for (let i = 0; i < n; i++) cols.push(i % 7, 1_768_435_200_000 + Math.floor(i / 40) * 60_000, i * 0.25 - 3, i % 3);
      appendSamples(appender, DuckDBDataChunk.create(SAMPLE_TYPES), cols, 5, n);
      appender.closeSync();
      const r = await conn.runAndReadAll(
        'SELECT count(*)::INTEGER, min(ts)::DOUBLE, max(ts)::DOUBLE, sum(value), sum(series)::INTEGER, sum(quality)::INTEGER FROM t',
      );
      let sumValue = 0;
      let sumSeries = 0;
      let sumQuality = 0;
      for (let i = 5; i < n; i++) {
        sumValue += i * 0.25 - 3;
        sumSeries += i % 7;
        sumQuality += i % 3;
      }
      expect(r.getRows()[0]).toEqual([n - 5, 1_768_435_200_000, 1_768_435_200_000 + Math.floor((n - 1) / 40) * 60_000, sumValue, sumSeries, sumQuality]);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });
});
