-- The last release's todo database on MariaDB: its tables, and the rows of those that hold no key, secret, session or token.
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `revocations` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `issuer` varchar(255) NOT NULL DEFAULT '',
  `kind` varchar(16) NOT NULL,
  `value` varchar(255) NOT NULL,
  `before` datetime(3) NOT NULL,
  `why` varchar(1024) NOT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`)
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
CREATE TABLE `todos` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `owner_id` varchar(32) NOT NULL,
  `title` varchar(500) NOT NULL,
  `done` tinyint(1) DEFAULT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_todos_page` (`owner_id`,`done`,`id`),
  KEY `idx_todos_owner_id` (`owner_id`)
) ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
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
INSERT INTO `todos` VALUES (1,'acctec02cb04d92bc6b9','Review the Q3 launch checklist',0,'2026-12-07 20:57:00.419','2026-12-07 20:57:00.419');
INSERT INTO `todos` VALUES (2,'acctec02cb04d92bc6b9','Rotate the staging database password',0,'2026-12-07 20:57:00.420','2026-12-07 20:57:00.420');
INSERT INTO `todos` VALUES (3,'acctec02cb04d92bc6b9','Book the team offsite venue',1,'2026-12-07 20:57:00.420','2026-12-07 20:57:00.420');
INSERT INTO `todos` VALUES (4,'acctbb3745733510e5c7','Ask IT which of our apps still sign in with SAML',0,'2026-12-07 20:57:00.421','2026-12-07 20:57:00.421');
INSERT INTO `todos` VALUES (5,'acctbb3745733510e5c7','Read how an assertion becomes an ID-JAG',1,'2026-12-07 20:57:00.421','2026-12-07 20:57:00.421');
INSERT INTO `todos` VALUES (6,'acctec02cb04d92bc6b9','Written before the upgrade',0,'2026-12-07 20:57:00.419','2026-12-07 20:57:00.419');
