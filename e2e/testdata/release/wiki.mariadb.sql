-- The last release's wiki database on MariaDB: its tables, and the rows of those that hold no key, secret, session or token.
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `access_tokens` (
  `user_id` varchar(64) NOT NULL,
  `resource` varchar(255) NOT NULL,
  `token` text NOT NULL,
  `scope` varchar(1024) DEFAULT NULL,
  `requested` varchar(1024) DEFAULT NULL,
  `expires_at` datetime(3) DEFAULT NULL,
  `token_type` varchar(16) DEFAULT NULL,
  PRIMARY KEY (`user_id`,`resource`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
/*!40101 SET character_set_client = @saved_cs_client */;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `pages` (
  `id` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  `slug` varchar(100) NOT NULL,
  `title` varchar(200) NOT NULL,
  `body` text NOT NULL,
  `author` varchar(255) DEFAULT NULL,
  `created_at` datetime(3) DEFAULT NULL,
  `updated_at` datetime(3) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `idx_pages_slug` (`slug`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
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
INSERT INTO `pages` VALUES (1,'welcome','Welcome to the wiki','This wiki is the **requesting app** of the Cross App Access demo.\n\nOpen **My todos** to see your tasks from the todo app. The wiki never asks you\nto sign in to the todo app or to approve anything: your company\'s identity\nprovider vouches for you with an *Identity Assertion JWT Authorization Grant*\n(ID-JAG), for connections your administrator has enabled.\n\nWhat happens when you open My todos:\n\n1. The wiki exchanges your ID token for an ID-JAG at the wiki\'s authorization server, which asks the IdP.\n2. The wiki presents the ID-JAG to the todo app\'s authorization server and gets an access token.\n3. The wiki calls the todo API with that access token.\n\nThe **Debug console** shows each of these requests and responses, with every token decoded.\n','Bobby Tables','2026-12-07 20:57:00.466','2026-12-07 20:57:00.466');
INSERT INTO `pages` VALUES (2,'release-notes','Release notes','Written before the upgrade.','Bobby Tables','2026-12-07 20:57:00.466','2026-12-07 20:57:00.466');
