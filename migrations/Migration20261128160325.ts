import { Migration } from '@mikro-orm/migrations';

export class Migration20261128160325 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "login_throttles" ("email_digest" varchar(64) not null, "failed_attempts" int not null default 0, "locked_until" timestamptz null, "last_locked_at" timestamptz null, "last_lock_seconds" int null, "updated_at" timestamptz not null default now(), constraint "login_throttles_pkey" primary key ("email_digest"));`,
    );

    this.addSql(
      `create table "mail_outbox" ("id" uuid not null, "template" varchar(64) not null, "payload" text not null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "sent_at" timestamptz null, "failed_at" timestamptz null, "last_error" varchar(500) null, "created_at" timestamptz not null default now(), constraint "mail_outbox_pkey" primary key ("id"));`,
    );
    this.addSql(
      `create index "mail_outbox_sent_at_next_attempt_at_index" on "mail_outbox" ("sent_at", "next_attempt_at");`,
    );

    this.addSql(
      `create table "security_events" ("id" uuid not null, "event_type" varchar(64) not null, "severity" varchar(16) not null, "outcome" varchar(16) not null, "user_id" uuid null, "ip" varchar(64) null, "request_id" varchar(128) null, "trace_id" varchar(32) null, "details" jsonb not null, "created_at" timestamptz not null default now(), constraint "security_events_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "security_events_created_at_index" on "security_events" ("created_at");`);
    this.addSql(
      `create index "security_events_user_id_created_at_index" on "security_events" ("user_id", "created_at");`,
    );
    this.addSql(
      `create index "security_events_event_type_created_at_index" on "security_events" ("event_type", "created_at");`,
    );

    this.addSql(
      `create table "users" ("id" uuid not null, "email" varchar(254) not null, "hashed_password" text not null, "full_name" varchar(200) null, "email_verified_at" timestamptz null, "is_active" boolean not null default true, "is_superuser" boolean not null default false, "failed_attempts" int not null default 0, "locked_until" timestamptz null, "session_version" int not null default 0, "password_changed_at" timestamptz null, "last_login_at" timestamptz null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(
      `create table "refresh_tokens" ("id" uuid not null, "user_id" uuid not null, "family_id" uuid not null, "parent_id" uuid null, "generation" int not null, "token_hash" varchar(64) not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "family_expires_at" timestamptz not null, "used_at" timestamptz null, "revoked_at" timestamptz null, "revoked_reason" varchar(32) null, "user_agent" varchar(512) null, "ip" varchar(64) null, constraint "refresh_tokens_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "refresh_tokens" add constraint "refresh_tokens_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(`create index "refresh_tokens_user_id_index" on "refresh_tokens" ("user_id");`);
    this.addSql(`create index "refresh_tokens_family_id_index" on "refresh_tokens" ("family_id");`);
    this.addSql(
      `alter table "refresh_tokens" add constraint "refresh_tokens_family_id_generation_unique" unique ("family_id", "generation");`,
    );

    this.addSql(
      `create table "lockouts" ("id" uuid not null, "user_id" uuid not null, "failed_attempts" int not null, "locked_at" timestamptz not null, "locked_until" timestamptz not null, "source_ip" varchar(64) null, "released_at" timestamptz null, "released_by" varchar(64) null, constraint "lockouts_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "lockouts_user_id_locked_at_index" on "lockouts" ("user_id", "locked_at");`);

    this.addSql(
      `create table "email_tokens" ("id" uuid not null, "user_id" uuid not null, "purpose" varchar(32) not null, "token_hash" varchar(64) not null, "expires_at" timestamptz not null, "used_at" timestamptz null, "created_at" timestamptz not null default now(), constraint "email_tokens_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "email_tokens" add constraint "email_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "email_tokens_user_id_purpose_index" on "email_tokens" ("user_id", "purpose");`);

    this.addSql(
      `alter table "refresh_tokens" add constraint "refresh_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "lockouts" add constraint "lockouts_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "email_tokens" add constraint "email_tokens_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }
}
