import { MikroORM } from '@mikro-orm/postgresql';
import { ormConfig, type OrmOptions } from './mikro-orm.config.js';

export type Orm = MikroORM;

export async function initOrm(opts: OrmOptions): Promise<Orm> {
  // connect:false keeps start-up alive when the database is briefly down;
  // the pool connects on first use and /health reports the outage.
  return MikroORM.init({ ...ormConfig(opts), connect: false });
}

/** Applies pending migrations; returns the names applied. */
export async function migrateUp(orm: Orm): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  return applied.map((m) => m.name);
}
