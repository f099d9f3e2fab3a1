// Package storage opens a service's database with gorm: SQLite through a
// pure-Go driver by default (a file, no server, no cgo), or MariaDB/MySQL
// when a database URL is configured. Each service has its own schema.
//
// It must not know any service's tables.
package storage
