import type { InferEntity } from '@mikro-orm/core';

/**
 * Row types derived from the entities, so the entities stay the one
 * description of the tables: a column renamed or retyped in an entity changes
 * the row type every repository and service uses, and the compiler finds each
 * use. Raw SQL returns snake_case columns, so the property names are mapped
 * (`lockedUntil` -> `locked_until`, a many-to-one `user` -> `user_id`).
 */

type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/** A property holding another entity (a many-to-one) is stored as that entity's id. */
type IsReference<T> = T extends { id: string } ? (T extends Date ? false : true) : false;

type ColumnName<K extends string, T> = IsReference<NonNullable<T>> extends true ? `${SnakeCase<K>}_id` : SnakeCase<K>;

/** What the driver hands back for a property: an id for a reference, `null` (never `undefined`) when absent. */
type ColumnValue<T> =
  IsReference<NonNullable<T>> extends true
    ? string | (null extends T ? null : never)
    : undefined extends T
      ? Exclude<T, undefined> | null
      : T;

type Clean<T> = T extends Date
  ? Date
  : T extends string
    ? string
    : T extends number
      ? number
      : T extends boolean
        ? boolean
        : T;

/** A table row as raw SQL returns it, derived from an entity schema (`RowOf<typeof UserSchema>`). */
export type RowOf<Schema> = {
  -readonly [K in keyof InferEntity<Schema> & string as ColumnName<K, InferEntity<Schema>[K]>]-?: Clean<
    ColumnValue<InferEntity<Schema>[K]>
  >;
};
