// Package scimtest is for the tests of package scim and of its users: the
// conformance suite every scim.Accounts passes, and Memory, one kept in
// memory, for unit tests of the protocol. Only tests import it.
package scimtest

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"xaa.example/shared/maildomain"
	"xaa.example/shared/scim"
)

// Memory is a scim.Accounts in memory, with the visibility rules of the
// interface: an account is the client's if it provisioned it or if it is
// linked under the client's issuer and tenant; an account no one claimed
// is any client's at its domains.
type Memory struct {
	mu       sync.Mutex
	accounts map[string]*memAccount
	order    []string
	now      func() time.Time
}

type memAccount struct {
	scim.Account
	provisionedBy *key          // nil: not provisioned
	links         map[link]bool // (issuer, tenant, subject)
}

type key struct{ issuer, tenant string }

type link struct{ issuer, tenant, subject string }

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{accounts: map[string]*memAccount{}, now: time.Now}
}

func (m *Memory) visible(c *scim.Client, a *memAccount) bool {
	k := key{c.Issuer, c.Tenant}
	if a.provisionedBy != nil && *a.provisionedBy == k {
		return true
	}
	for l := range a.links {
		if l.issuer == c.Issuer && l.tenant == c.Tenant {
			return true
		}
	}
	return a.provisionedBy == nil && len(a.links) == 0 && maildomain.List(c.Domains).Has(a.Email)
}

func (m *Memory) view(a *memAccount) scim.Account {
	out := a.Account
	if a.provisionedBy == nil {
		out.ExternalID, out.Attributes, out.Version, out.Modified = "", nil, 0, time.Time{}
	}
	return out
}

func (m *Memory) Get(_ context.Context, c *scim.Client, id string) (*scim.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[id]
	if !ok || !m.visible(c, a) {
		return nil, scim.ErrNotFound
	}
	out := m.view(a)
	return &out, nil
}

func (m *Memory) List(_ context.Context, c *scim.Client, q scim.Query) ([]scim.Account, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []scim.Account
	for _, id := range m.order {
		a := m.accounts[id]
		if !m.visible(c, a) {
			continue
		}
		switch q.Field {
		case "email":
			if a.Email != strings.ToLower(q.Value) {
				continue
			}
		case "id":
			if a.ID != q.Value {
				continue
			}
		case "externalId":
			if a.provisionedBy == nil || *a.provisionedBy != (key{c.Issuer, c.Tenant}) || a.ExternalID != q.Value {
				continue
			}
		}
		found = append(found, m.view(a))
	}
	total := len(found)
	found = found[min(q.Offset, total):]
	return found[:min(q.Limit, len(found))], total, nil
}

// taken checks that email and the client's externalId are no one else's.
func (m *Memory) taken(c *scim.Client, a *scim.Account) error {
	for _, other := range m.accounts {
		if other.ID == a.ID {
			continue
		}
		if other.Email == a.Email {
			return &scim.Taken{Detail: "An account with the email " + a.Email + " exists here already"}
		}
		if a.ExternalID != "" && other.links[link{c.Issuer, c.Tenant, a.ExternalID}] {
			return &scim.Taken{Detail: "externalId " + a.ExternalID + " is already another account's here"}
		}
	}
	return nil
}

func (m *Memory) save(c *scim.Client, stored *memAccount, a *scim.Account) {
	k := key{c.Issuer, c.Tenant}
	for l := range stored.links {
		if l.issuer == c.Issuer && l.tenant == c.Tenant {
			delete(stored.links, l)
		}
	}
	if a.ExternalID != "" {
		stored.links[link{c.Issuer, c.Tenant, a.ExternalID}] = true
	}
	a.Version = stored.Version + 1
	if stored.provisionedBy == nil {
		a.Version = 1
	}
	a.Modified = m.now()
	stored.Account, stored.provisionedBy = *a, &k
}

func (m *Memory) Create(_ context.Context, c *scim.Client, a *scim.Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a.ID = strings.ToLower(rand.Text()[:20])
	if err := m.taken(c, a); err != nil {
		return err
	}
	a.Created = m.now()
	stored := &memAccount{links: map[link]bool{}}
	m.save(c, stored, a)
	m.accounts[a.ID] = stored
	m.order = append(m.order, a.ID)
	return nil
}

func (m *Memory) Update(_ context.Context, c *scim.Client, a *scim.Account) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, ok := m.accounts[a.ID]
	if !ok || !m.visible(c, stored) {
		return scim.ErrNotFound
	}
	if err := m.taken(c, a); err != nil {
		return err
	}
	a.Created = stored.Created
	m.save(c, stored, a)
	return nil
}

func (m *Memory) Delete(_ context.Context, c *scim.Client, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[id]
	if !ok || !m.visible(c, a) {
		return scim.ErrNotFound
	}
	delete(m.accounts, id)
	m.order = slices.DeleteFunc(m.order, func(x string) bool { return x == id })
	return nil
}

// Unclaimed implements Fixture.
func (m *Memory) Unclaimed(t *testing.T, email string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := strings.ToLower(rand.Text()[:20])
	m.accounts[id] = &memAccount{Account: scim.Account{ID: id, Email: email, Name: email, Active: true, Created: m.now()}, links: map[link]bool{}}
	m.order = append(m.order, id)
	return id
}

// SignedIn implements Fixture.
func (m *Memory) SignedIn(t *testing.T, issuer, tenant, subject, email string) string {
	id := m.Unclaimed(t, email)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.accounts[id].links[link{issuer, tenant, subject}] = true
	return id
}
