package samlcred

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"xaa.example/shared/storage"
)

// Credential is one stored key and certificate, by name.
type Credential struct {
	Name    string `gorm:"primaryKey;size:64"`
	KeyPEM  []byte `gorm:"not null"`
	CertPEM []byte `gorm:"not null"`
}

// TableName keeps the table's name plain.
func (Credential) TableName() string { return "saml_credentials" }

// LoadOrCreate returns the key and certificate kept under name, made on
// first use for subject (the service's entity ID); replicas starting
// together keep whichever was stored first.
func LoadOrCreate(ctx context.Context, db *gorm.DB, name, subject string) (*rsa.PrivateKey, *x509.Certificate, error) {
	if err := storage.Migrate(db, "shared/samlcred", schema...); err != nil {
		return nil, nil, err
	}
	var c Credential
	err := db.WithContext(ctx).Take(&c, "name = ?", name).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		made, err := create(name, subject)
		if err != nil {
			return nil, nil, err
		}
		if err := db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(made).Error; err != nil {
			return nil, nil, err
		}
		err = db.WithContext(ctx).Take(&c, "name = ?", name).Error
		if err != nil {
			return nil, nil, err
		}
	} else if err != nil {
		return nil, nil, err
	}
	return parse(&c)
}

func create(name, subject string) (*Credential, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: subject},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &Credential{
		Name:    name,
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(key)}),
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

func mustPKCS8(key *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	return b
}

func parse(c *Credential) (*rsa.PrivateKey, *x509.Certificate, error) {
	kb, _ := pem.Decode(c.KeyPEM)
	cb, _ := pem.Decode(c.CertPEM)
	if kb == nil || cb == nil {
		return nil, nil, fmt.Errorf("SAML credential %s is not PEM", c.Name)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("SAML credential %s is not an RSA key", c.Name)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
}

// schema is this package's tables, step by step (storage.Migrate); step 1
// is their shape when versioning began.
var schema = []storage.Migration{
	{ID: "1", Apply: func(tx *gorm.DB) error { return tx.AutoMigrate(&Credential{}) }},
}
