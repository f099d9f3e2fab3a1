-- One schema per service, created on the database's first start. (The
-- services would also create their schema themselves; doing it here lets
-- the database user be restricted to these schemas.)
CREATE DATABASE IF NOT EXISTS xaa_idp CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS xaa_wiki_as CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS xaa_todo_as CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS xaa_wiki CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS xaa_todo CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'xaa'@'%' IDENTIFIED BY 'xaa-demo-password';
GRANT ALL PRIVILEGES ON `xaa\_%`.* TO 'xaa'@'%';
