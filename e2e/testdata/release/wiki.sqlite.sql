-- The last release's wiki database on SQLite: its tables, and the rows of those that hold no key, secret, session or token.
CREATE TABLE `access_tokens` (`user_id` text,`resource` text,`token` text NOT NULL,`scope` text,`requested` text,`expires_at` datetime,`token_type` text,PRIMARY KEY (`user_id`,`resource`));
CREATE TABLE `pages` (`id` integer PRIMARY KEY AUTOINCREMENT,`slug` text NOT NULL,`title` text NOT NULL,`body` text NOT NULL,`author` text,`created_at` datetime,`updated_at` datetime);
INSERT INTO "pages" VALUES(1,'welcome','Welcome to the wiki','This wiki is the **requesting app** of the Cross App Access demo.

Open **My todos** to see your tasks from the todo app. The wiki never asks you
to sign in to the todo app or to approve anything: your company''s identity
provider vouches for you with an *Identity Assertion JWT Authorization Grant*
(ID-JAG), for connections your administrator has enabled.

What happens when you open My todos:

1. The wiki exchanges your ID token for an ID-JAG at the wiki''s authorization server, which asks the IdP.
2. The wiki presents the ID-JAG to the todo app''s authorization server and gets an access token.
3. The wiki calls the todo API with that access token.

The **Debug console** shows each of these requests and responses, with every token decoded.
','Bobby Tables','2026-12-07 20:56:59.721369428+00:00','2026-12-07 20:56:59.721369428+00:00');
INSERT INTO "pages" VALUES(2,'release-notes','Release notes','Written before the upgrade.','Bobby Tables','2026-12-07 20:56:59.721369428+00:00','2026-12-07 20:56:59.721369428+00:00');
CREATE TABLE "web_secrets"  (`name` text,`value` text NOT NULL,PRIMARY KEY (`name`));
CREATE TABLE `web_sessions` (`token` text,`data` blob NOT NULL,`expiry` datetime NOT NULL,PRIMARY KEY (`token`));
CREATE UNIQUE INDEX `idx_pages_slug` ON `pages`(`slug`);
CREATE INDEX `idx_web_sessions_expiry` ON `web_sessions`(`expiry`);
DELETE FROM "sqlite_sequence";
