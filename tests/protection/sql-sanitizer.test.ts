import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sanitizeSql } from '../../otel/sanitize-sql.js';

/** What a database span may say about a statement: its shape, no value. */
const s = suite('db span query text');

const CASES: Array<[string, string]> = [
  ["select * from users where email = 'jane@example.com'", "select * from users where email = '?'"],
  [
    "insert into users (id, hashed_password) values ('1f0e', 'c2NyeXB0AA8AAAAIAAAAAe')",
    "insert into users (id, hashed_password) values ('?', '?')",
  ],
  ["select 'it''s', E'a\\'b', 42", "select '?', '?', 42"],
  ['update t set d = $$secret$$, e = $tag$also$tag$', "update t set d = '?', e = '?'"],
  ['select * from t where a = $1 and b = ?', 'select * from t where a = $1 and b = ?'],
  ["select 1 where token_hash = 'truncated-stat", "select 1 where token_hash = '?'"],
  ['select \'{"email":"x@y.z"}\'::jsonb', "select '?'::jsonb"],
];

for (const [sql, expected] of CASES) {
  s(`redacts: ${sql.slice(0, 48)}`, () => {
    assert.is(sanitizeSql(sql), expected);
  });
}

s.run();
