import { Migration } from '@mikro-orm/migrations';

/**
 * The shared rate-limit counters get their table from a migration instead of
 * being created by the first process that needs it. `if not exists`: a
 * database that ran an older build already has the same table.
 */
export class Migration20261202090000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table if not exists "rate_limits" ("key" varchar(255) not null, "points" int not null default 0, "expire" bigint null, constraint "rate_limits_pkey" primary key ("key"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "rate_limits" cascade;`);
  }
}
