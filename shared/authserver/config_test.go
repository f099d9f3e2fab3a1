package authserver

import (
	"strings"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/oauth"
)

// TestConfigRefusesWildcardAuthorities: beside another authority of its
// kind, an authority with no email domains would vouch for that one's
// people too (issue 31), so the configuration is refused, naming it.
func TestConfigRefusesWildcardAuthorities(t *testing.T) {
	valid := func() Config {
		return Config{
			Issuer: "https://as.test", CookieName: "c", DB: &gorm.DB{},
			Clients: []oauth.Client{{ID: "app", Secret: "s"}},
			Tenants: []Tenant{{Domains: []string{"a.test"}, IdP: Upstream{Issuer: "https://idp-a.test", ClientID: "x", ClientSecret: "y"}}},
			SCIM:    []SCIMClient{{Token: "t1", Issuer: "https://idp-a.test", Domains: []string{"a.test"}}},
		}
	}
	if err := (func() *Config { c := valid(); return &c }()).Validate(); err != nil {
		t.Fatalf("the valid configuration: %v", err)
	}
	for _, tt := range []struct {
		name, want string
		edit       func(*Config)
	}{
		{name: "a second tenant with no domains", want: "each must name its email domains", edit: func(c *Config) {
			c.Tenants = append(c.Tenants, Tenant{IdP: Upstream{Issuer: "https://idp-b.test", ClientID: "x", ClientSecret: "y"}})
		}},
		{name: "a second SCIM client with no domains", want: "with several SCIM clients", edit: func(c *Config) {
			c.SCIM = append(c.SCIM, SCIMClient{Token: "t2", Issuer: "https://idp-a.test", Tenant: "b"})
		}},
		{name: "a SCIM client with no issuer", want: "a SCIM client needs", edit: func(c *Config) { c.SCIM[0].Issuer = "" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
	// One tenant or one SCIM client alone may vouch for every address.
	c := valid()
	c.Tenants[0].Domains, c.SCIM[0].Domains = nil, nil
	if err := c.Validate(); err != nil {
		t.Errorf("a single authority of each kind with no domains: %v", err)
	}
}
