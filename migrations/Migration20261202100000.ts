import { Migration } from '@mikro-orm/migrations';

export class Migration20261202100000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "security_events" add column "user_agent" varchar(512) null;`);

    this.addSql(`alter table "users" add column "last_failed_at" timestamptz null;`);

    this.addSql(
      `create index "refresh_tokens_revoked_at_index" on "refresh_tokens" ("revoked_at") where revoked_at is not null;`,
    );
    // A family with two live tokens would be a second branch: keep its newest, end the others.
    this.addSql(
      `update "refresh_tokens" r set "revoked_at" = now(), "revoked_reason" = 'duplicate' where r."used_at" is null and r."revoked_at" is null and exists (select 1 from "refresh_tokens" o where o."family_id" = r."family_id" and o."used_at" is null and o."revoked_at" is null and o."generation" > r."generation");`,
    );
    this.addSql(
      `create unique index "refresh_tokens_family_live_unique" on "refresh_tokens" ("family_id") where used_at is null and revoked_at is null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "refresh_tokens_revoked_at_index";`);
    this.addSql(`drop index "refresh_tokens_family_live_unique";`);

    this.addSql(`alter table "security_events" drop column "user_agent";`);

    this.addSql(`alter table "users" drop column "last_failed_at";`);
  }
}
