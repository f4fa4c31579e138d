import { Migration } from '@mikro-orm/migrations';

export class Migration20261202110000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "recovery_codes" ("id" uuid not null, "user_id" uuid not null, "code_hash" varchar(64) not null, "used_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "recovery_codes_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "recovery_codes" add constraint "recovery_codes_code_hash_unique" unique ("code_hash");`);
    this.addSql(`create index "recovery_codes_user_id_index" on "recovery_codes" ("user_id");`);

    this.addSql(
      `create table "mfa_factors" ("id" uuid not null, "user_id" uuid not null, "kind" varchar(16) not null, "name" varchar(100) not null, "created_at" timestamptz not null default now(), "last_used_at" timestamptz null, "secret" text null, "confirmed_at" timestamptz null, "last_used_step" int null, "credential_id" varchar(1400) null, "public_key" text null, "sign_count" bigint null, "transports" varchar(200) null, "aaguid" varchar(36) null, "backed_up" boolean null, constraint "mfa_factors_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "mfa_factors" add constraint "mfa_factors_credential_id_unique" unique ("credential_id");`,
    );
    this.addSql(`create index "mfa_factors_user_id_index" on "mfa_factors" ("user_id");`);

    this.addSql(
      `create table "mfa_challenges" ("id" uuid not null, "token_hash" varchar(64) not null, "user_id" uuid not null, "password_changed_at" timestamptz null, "attempts" int not null default 0, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "mfa_challenges_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "mfa_challenges" add constraint "mfa_challenges_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(`create index "mfa_challenges_user_id_index" on "mfa_challenges" ("user_id");`);
    this.addSql(`create index "mfa_challenges_expires_at_index" on "mfa_challenges" ("expires_at");`);

    this.addSql(
      `create table "webauthn_challenges" ("id" uuid not null, "challenge_hash" varchar(64) not null, "user_id" uuid null, "purpose" varchar(32) not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "webauthn_challenges_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "webauthn_challenges" add constraint "webauthn_challenges_challenge_hash_unique" unique ("challenge_hash");`,
    );
    this.addSql(`create index "webauthn_challenges_expires_at_index" on "webauthn_challenges" ("expires_at");`);

    this.addSql(
      `alter table "recovery_codes" add constraint "recovery_codes_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "mfa_factors" add constraint "mfa_factors_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "mfa_challenges" add constraint "mfa_challenges_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "webauthn_challenges" add constraint "webauthn_challenges_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(`alter table "refresh_tokens" add column "amr" varchar(64) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "recovery_codes" cascade;`);

    this.addSql(`drop table if exists "mfa_factors" cascade;`);

    this.addSql(`drop table if exists "mfa_challenges" cascade;`);

    this.addSql(`drop table if exists "webauthn_challenges" cascade;`);

    this.addSql(`alter table "refresh_tokens" drop column "amr";`);
  }
}
