package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/shared/storage"
)

// Secret is a service's random key for one purpose, kept in its database so
// that a restart or a second replica uses the same one.
type Secret struct {
	Name  string `gorm:"primaryKey;size:64"`
	Value string `gorm:"size:128;not null"`
}

// TableName keeps the table apart from each service's own.
func (Secret) TableName() string { return "web_secrets" }

// SecretKey returns the key named name, made on first use. Of two
// processes making it at once, the first insert wins and both read it.
func SecretKey(ctx context.Context, db *gorm.DB, name string) ([]byte, error) {
	if err := storage.Migrate(db, "shared/web", schema...); err != nil {
		return nil, err
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	if err := db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&Secret{Name: name, Value: hex.EncodeToString(b)}).Error; err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var s Secret
	if err := db.WithContext(ctx).Take(&s, "name = ?", name).Error; err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return hex.DecodeString(s.Value)
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Secret{}) }},
}
