-- The last release's todo-as database on MariaDB: its tables, and the rows of those that hold no key, secret, session or token.
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
CREATE TABLE `links` (
  `issuer` varchar(255) NOT NULL,
  `tenant` varchar(64) NOT NULL,
  `subject` varchar(255) NOT NULL,
  `user_id` varchar(32) NOT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`issuer`,`tenant`,`subject`),
  KEY `idx_links_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
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
CREATE TABLE `saml_requests` (
  `relay_state` varchar(64) NOT NULL,
  `request_id` varchar(128) NOT NULL,
  `id_p` varchar(255) NOT NULL,
  `return_to` varchar(2048) DEFAULT NULL,
  `browser` varchar(64) DEFAULT NULL,
  `expires_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`relay_state`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `scim_users` (
  `user_id` varchar(32) NOT NULL,
  `issuer` varchar(255) NOT NULL,
  `tenant` varchar(64) NOT NULL,
  `external_id` varchar(255) DEFAULT NULL,
  `attributes` text NOT NULL,
  `version` bigint(20) DEFAULT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`user_id`),
  KEY `idx_scim_client` (`issuer`,`tenant`)
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
CREATE TABLE `upstream_sessions` (
  `user_id` varchar(32) NOT NULL,
  `id_p_issuer` varchar(255) DEFAULT NULL,
  `id_token` text NOT NULL,
  `refresh_token` text DEFAULT NULL,
  `saml_assertion` text DEFAULT NULL,
  `expiry` datetime(3) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `users` (
  `id` varchar(32) NOT NULL,
  `email` varchar(255) NOT NULL,
  `name` varchar(255) DEFAULT NULL,
  `deactivated` tinyint(1) DEFAULT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_users_email` (`email`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `web_secrets` (
  `name` varchar(64) NOT NULL,
  `value` varchar(128) NOT NULL,
  PRIMARY KEY (`name`)
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
INSERT INTO `links` VALUES ('{{idp}}','','00ujxuorzzuek3u2dcqa','acctec02cb04d92bc6b9','2026-12-07 20:57:00.579');
INSERT INTO `users` VALUES ('acct0d5d78e5562e7480','admin@tables.fake','Ada Admin',0,'2026-12-07 20:57:00.401');
INSERT INTO `users` VALUES ('acctbb3745733510e5c7','foo@tables.fake3','Foo Tables',0,'2026-12-07 20:57:00.401');
INSERT INTO `users` VALUES ('acctdb64d56e4cd48d00','john@tables.fake2','John Tables',0,'2026-12-07 20:57:00.400');
INSERT INTO `users` VALUES ('acctec02cb04d92bc6b9','bob@tables.fake','Bobby Tables',0,'2026-12-07 20:57:00.399');
