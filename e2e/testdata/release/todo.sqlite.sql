-- The last release's todo database on SQLite: its tables, and the rows of those that hold no key, secret, session or token.
CREATE TABLE `revocations` (`id` integer PRIMARY KEY AUTOINCREMENT,`issuer` text NOT NULL DEFAULT '',`kind` text NOT NULL,`value` text NOT NULL,`before` datetime NOT NULL,`why` text NOT NULL,`created_at` datetime);
CREATE TABLE `spent_jtis` (`key` blob,`issuer` text NOT NULL,`expires_at` datetime NOT NULL,PRIMARY KEY (`key`));
CREATE TABLE `todos` (`id` integer PRIMARY KEY AUTOINCREMENT,`owner_id` text NOT NULL,`title` text NOT NULL,`done` numeric,`created_at` datetime,`updated_at` datetime);
INSERT INTO "todos" VALUES(1,'acctec02cb04d92bc6b9','Review the Q3 launch checklist',0,'2026-12-07 20:56:59.710581245+00:00','2026-12-07 20:56:59.710581245+00:00');
INSERT INTO "todos" VALUES(2,'acctec02cb04d92bc6b9','Rotate the staging database password',0,'2026-12-07 20:56:59.710776687+00:00','2026-12-07 20:56:59.710776687+00:00');
INSERT INTO "todos" VALUES(3,'acctec02cb04d92bc6b9','Book the team offsite venue',1,'2026-12-07 20:56:59.710880925+00:00','2026-12-07 20:56:59.710880925+00:00');
INSERT INTO "todos" VALUES(4,'acctbb3745733510e5c7','Ask IT which of our apps still sign in with SAML',0,'2026-12-07 20:56:59.710922895+00:00','2026-12-07 20:56:59.710922895+00:00');
INSERT INTO "todos" VALUES(5,'acctbb3745733510e5c7','Read how an assertion becomes an ID-JAG',1,'2026-12-07 20:56:59.710937803+00:00','2026-12-07 20:56:59.710937803+00:00');
INSERT INTO "todos" VALUES(6,'acctec02cb04d92bc6b9','Written before the upgrade',0,'2026-12-07 20:56:59.710581245+00:00','2026-12-07 20:56:59.710581245+00:00');
CREATE TABLE "web_secrets"  (`name` text,`value` text NOT NULL,PRIMARY KEY (`name`));
CREATE TABLE `web_sessions` (`token` text,`data` blob NOT NULL,`expiry` datetime NOT NULL,PRIMARY KEY (`token`));
CREATE INDEX `idx_todos_owner_id` ON `todos`(`owner_id`);
CREATE INDEX `idx_todos_page` ON `todos`(`owner_id`,`done`,`id`);
CREATE INDEX `idx_web_sessions_expiry` ON `web_sessions`(`expiry`);
DELETE FROM "sqlite_sequence";
