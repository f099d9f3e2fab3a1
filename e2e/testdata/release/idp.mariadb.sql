-- The last release's idp database on MariaDB: its tables, and the rows of those that hold no key, secret, session or token.
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `audit_events` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `time` datetime(3) NOT NULL,
  `event` varchar(64) NOT NULL,
  `outcome` varchar(16) NOT NULL,
  `client_id` varchar(255) DEFAULT NULL,
  `user_id` varchar(32) DEFAULT NULL,
  `user_email` varchar(255) DEFAULT NULL,
  `audience` varchar(255) DEFAULT NULL,
  `resource` varchar(1024) DEFAULT NULL,
  `scope` varchar(1024) DEFAULT NULL,
  `requested` varchar(1024) DEFAULT NULL,
  `jti` varchar(255) DEFAULT NULL,
  `reason` varchar(1024) DEFAULT NULL,
  `actor` varchar(255) DEFAULT NULL,
  `target` varchar(255) DEFAULT NULL,
  `change_before` varchar(1024) DEFAULT NULL,
  `change_after` varchar(1024) DEFAULT NULL,
  `trace` varchar(64) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_audit_events_time` (`time`),
  KEY `idx_audit_events_outcome` (`outcome`),
  KEY `idx_audit_events_user_id` (`user_id`)
) ENGINE=InnoDB AUTO_INCREMENT=2 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `auth_codes` (
  `code_hash` varchar(64) NOT NULL,
  `client_id` varchar(255) NOT NULL,
  `user_id` varchar(32) NOT NULL,
  `redirect_uri` varchar(2048) NOT NULL,
  `challenge` varchar(64) NOT NULL,
  `nonce` varchar(255) DEFAULT NULL,
  `scope` varchar(1024) DEFAULT NULL,
  `auth_time` datetime(3) DEFAULT NULL,
  `expires_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`code_hash`),
  KEY `idx_auth_codes_expires_at` (`expires_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `connections` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `requesting_client_id` varchar(255) NOT NULL,
  `resource_audience` varchar(255) NOT NULL,
  `resource` varchar(1024) DEFAULT NULL,
  `allowed_scopes` varchar(1024) DEFAULT NULL,
  `client_id_at_resource` varchar(255) NOT NULL,
  `enabled` tinyint(1) DEFAULT NULL,
  `title` varchar(255) DEFAULT NULL,
  `offered_scopes` varchar(1024) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_conn` (`requesting_client_id`,`resource_audience`)
) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `device_codes` (
  `code_hash` varchar(64) NOT NULL,
  `user_code` varchar(16) NOT NULL,
  `client_id` varchar(255) NOT NULL,
  `scope` varchar(1024) DEFAULT NULL,
  `expires_at` datetime(3) DEFAULT NULL,
  `user_id` varchar(32) DEFAULT NULL,
  `auth_time` datetime(3) DEFAULT NULL,
  `denied` tinyint(1) DEFAULT NULL,
  `last_poll` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`code_hash`),
  UNIQUE KEY `idx_device_codes_user_code` (`user_code`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `orgs` (
  `id` varchar(32) NOT NULL,
  `domain` varchar(255) NOT NULL,
  `name` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_orgs_domain` (`domain`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `outbox` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `kind` varchar(32) NOT NULL,
  `target` varchar(255) NOT NULL,
  `about` varchar(1024) DEFAULT NULL,
  `payload` text NOT NULL,
  `attempts` bigint(20) NOT NULL,
  `next_at` datetime(3) NOT NULL,
  `last_error` varchar(1024) DEFAULT NULL,
  `done_at` datetime(3) DEFAULT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_outbox_kind` (`kind`),
  KEY `idx_outbox_target` (`target`),
  KEY `idx_outbox_next_at` (`next_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `provisioned_accounts` (
  `target_id` bigint(20) unsigned NOT NULL,
  `user_id` varchar(32) NOT NULL,
  `remote_id` varchar(255) NOT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`target_id`,`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `provisioning_targets` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `name` varchar(255) NOT NULL,
  `base_url` varchar(1024) NOT NULL,
  `token` varchar(1024) NOT NULL,
  `enabled` tinyint(1) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_provisioning_targets_name` (`name`)
) ENGINE=InnoDB AUTO_INCREMENT=2 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `refresh_tokens` (
  `token_hash` varchar(64) NOT NULL,
  `client_id` varchar(255) NOT NULL,
  `user_id` varchar(32) NOT NULL,
  `scope` varchar(1024) DEFAULT NULL,
  `auth_time` datetime(3) DEFAULT NULL,
  `expires_at` datetime(3) DEFAULT NULL,
  `used_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`token_hash`),
  KEY `idx_refresh_tokens_user_id` (`user_id`),
  KEY `idx_refresh_tokens_expires_at` (`expires_at`),
  KEY `idx_refresh_tokens_used_at` (`used_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `saml_apps` (
  `entity_id` varchar(255) NOT NULL,
  `name` varchar(255) DEFAULT NULL,
  `client_id` varchar(255) NOT NULL,
  `acs_url` varchar(2048) DEFAULT NULL,
  `metadata` text DEFAULT NULL,
  `configured` tinyint(1) DEFAULT NULL,
  `org_ids` varchar(1024) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`entity_id`),
  KEY `idx_saml_apps_client_id` (`client_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `saml_credentials` (
  `name` varchar(64) NOT NULL,
  `key_pem` longblob NOT NULL,
  `cert_pem` longblob NOT NULL,
  PRIMARY KEY (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `sign_in_throttles` (
  `who` varchar(320) NOT NULL,
  `failures` bigint(20) NOT NULL,
  `last_failure` datetime(3) NOT NULL,
  `locked_until` datetime(3) NOT NULL,
  PRIMARY KEY (`who`),
  KEY `idx_sign_in_throttles_locked_until` (`locked_until`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `signing_keys` (
  `k_id` varchar(64) NOT NULL,
  `algorithm` varchar(16) NOT NULL,
  `private_der` longblob NOT NULL,
  `activate_at` datetime(3) DEFAULT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`k_id`),
  KEY `idx_signing_keys_activate_at` (`activate_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `spent_jtis` (
  `key` varbinary(32) NOT NULL,
  `issuer` varchar(255) NOT NULL,
  `expires_at` datetime(3) NOT NULL,
  PRIMARY KEY (`key`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `ssf_streams` (
  `id` varchar(32) NOT NULL,
  `receiver` varchar(255) NOT NULL,
  `status` varchar(16) NOT NULL DEFAULT 'enabled',
  `status_reason` varchar(1024) DEFAULT NULL,
  `audience` varchar(1024) NOT NULL,
  `endpoint` varchar(1024) NOT NULL,
  `authorization` varchar(1024) DEFAULT NULL,
  `events` varchar(1024) NOT NULL,
  `description` varchar(1024) DEFAULT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_ssf_streams_receiver` (`receiver`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `users` (
  `id` varchar(32) NOT NULL,
  `org_id` varchar(32) NOT NULL,
  `email` varchar(255) NOT NULL,
  `name` varchar(255) NOT NULL,
  `password_hash` longblob NOT NULL,
  `disabled` tinyint(1) DEFAULT NULL,
  `admin` tinyint(1) DEFAULT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_users_email` (`email`),
  KEY `idx_users_org_id` (`org_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `web_sessions` (
  `token` varchar(64) NOT NULL,
  `data` longblob NOT NULL,
  `expiry` datetime(3) NOT NULL,
  PRIMARY KEY (`token`),
  KEY `idx_web_sessions_expiry` (`expiry`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
INSERT INTO `audit_events` VALUES (1,'2026-12-07 20:57:00.571','app.oauth2.token.grant.id_jag','issued','wiki-as','00ujxuorzzuek3u2dcqa','bob@tables.fake','{{todo-as}}','{{todo}}/api','todos.read','todos.read','KELB7GSS77STAOZCOZ5IWMRLCA','','','','','','4u7up57qfwpxfhkk5hm553ncco');
INSERT INTO `connections` VALUES (1,'wiki-as','{{todo-as}}','{{todo}}/api','todos.read todos.write','wiki-at-todo',1,'Wiki → Todo','todos.read todos.write','2026-12-07 20:57:00.090');
INSERT INTO `connections` VALUES (2,'agent','{{todo-as}}','{{todo}}/mcp','todos.read','agent-at-todo',1,'Agent → Todo (MCP)','todos.read todos.write','2026-12-07 20:57:00.091');
INSERT INTO `connections` VALUES (3,'wiki-as','https://calendar.example','https://calendar.example/api','calendar.read','wiki-at-calendar',1,'Wiki → Calendar','calendar.read calendar.write','2026-12-07 20:57:00.092');
INSERT INTO `connections` VALUES (4,'wiki-as','https://chat.example','https://chat.example/api','chat.read','wiki-at-chat',0,'Wiki → Chat','chat.read chat.write','2026-12-07 20:57:00.092');
INSERT INTO `orgs` VALUES ('00oh3kwm3hlgct6esigp','tables.fake3','Tables Three');
INSERT INTO `orgs` VALUES ('00os6frll6pp6uqspysl','tables.fake2','Tables Two');
INSERT INTO `orgs` VALUES ('00owspyfqlgdwhq2yca6','tables.fake','Tables Inc.');
INSERT INTO `saml_apps` VALUES ('{{wiki-as}}/saml/metadata','wiki-as','wiki-as','{{wiki-as}}/saml/acs','',1,'00oh3kwm3hlgct6esigp','2026-12-07 20:57:00.242');
INSERT INTO `saml_apps` VALUES ('{{todo-as}}/saml/metadata','todo-as','todo-as','{{todo-as}}/saml/acs','',1,'00oh3kwm3hlgct6esigp','2026-12-07 20:57:00.242');
INSERT INTO `users` VALUES ('00ue5vjui4nhwcfbqobv','00os6frll6pp6uqspysl','john@tables.fake2','John Tables','$2a$10$qlX88XowoX.fY.uJN0XB1uaHLT4Xv2SQlHiS47JTTkOZUsA0PlQZq',0,0,'2026-12-07 20:56:59.964');
INSERT INTO `users` VALUES ('00ujxuorzzuek3u2dcqa','00owspyfqlgdwhq2yca6','bob@tables.fake','Bobby Tables','$2a$10$KvBKU61uxTuGDo8tgIS.yepgj19Gb5Ui5xMtvOiehkUksC/I.1Eau',0,0,'2026-12-07 20:56:59.902');
INSERT INTO `users` VALUES ('00ulpvbfibjuf3uqi5kc','00owspyfqlgdwhq2yca6','admin@tables.fake','Ada Admin','$2a$10$oT/BguUa7QpFwqvPNxJo0ebzMs9BYlNqKU5cJqiCzGK.NY2tCo.Ke',0,1,'2026-12-07 20:57:00.089');
INSERT INTO `users` VALUES ('00unybn34iylba2uzxsj','00oh3kwm3hlgct6esigp','foo@tables.fake3','Foo Tables','$2a$10$l1nSZNALQhzRs3v1yy4zM.Ms19.q.rMFhW1vvKvFGGKBum2xxwvU2',0,0,'2026-12-07 20:57:00.026');
INSERT INTO `users` VALUES ('00urelease0000000','00owspyfqlgdwhq2yca6','release@tables.fake','Rel Ease','$2a$10$KvBKU61uxTuGDo8tgIS.yepgj19Gb5Ui5xMtvOiehkUksC/I.1Eau',0,0,'2026-12-07 20:56:59.902');
