package authserver

import (
	"strings"
	"testing"

	"gorm.io/gorm"

	"xaa.example/shared/oauth"
	"xaa.example/shared/scim"
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
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
	// One tenant alone may vouch for every address.
	c := valid()
	c.Tenants[0].Domains = nil
	if err := c.Validate(); err != nil {
		t.Errorf("a single tenant with no domains: %v", err)
	}
}

// TestSCIMRefusesWildcardClients: the same for provisioning clients.
func TestSCIMRefusesWildcardClients(t *testing.T) {
	one := scim.Client{Token: "t1", Issuer: "https://idp-a.test", Domains: []string{"a.test"}}
	for _, tt := range []struct {
		name    string
		clients []scim.Client
		want    string
	}{
		{name: "a second client with no domains", want: "with several SCIM clients", clients: []scim.Client{one, {Token: "t2", Issuer: "https://idp-a.test", Tenant: "b"}}},
		{name: "a client with no issuer", want: "a SCIM client needs", clients: []scim.Client{{Token: "t1", Domains: []string{"a.test"}}}},
		{name: "no client", want: "at least one SCIM client", clients: nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := WithSCIM(tt.clients...)(&Server{cfg: Config{Issuer: "https://as.test"}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
