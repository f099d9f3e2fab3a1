package scim

import (
	"context"
	"errors"
	"time"
)

// Client is an IdP allowed to provision accounts: the bearer token it
// presents and whose people it provisions.
type Client struct {
	Token string
	// Issuer is the IdP's issuer: an account's externalId is the sub its
	// ID-JAGs carry, so provisioning links (Issuer, Tenant, externalId).
	Issuer string
	// Tenant is the ID-JAG tenant claim of its people ("" when it sends
	// none: a tenant of its own, not every tenant).
	Tenant string
	// Domains are the email domains of the people it may provision: every
	// account it creates or changes has its email there, and an account no
	// IdP has claimed yet is one it may adopt only there. None: any
	// address (a server provisioned by one IdP alone).
	Domains []string
}

// Account is a person's account as the service reads and writes it.
type Account struct {
	ID     string
	Email  string // lower case
	Name   string
	Active bool
	// ExternalID is the client's id for the person (its ID-JAGs' sub);
	// Attributes what it sent, never a password. Both are empty for an
	// account the client did not provision (seeded, or made at sign-in),
	// whose SCIM attributes are then its own fields.
	ExternalID string
	Attributes map[string]any
	Version    int // of what the client provisioned; 0 for none
	Created    time.Time
	Modified   time.Time // zero when the client never changed it
}

// Query is a list request: every account the client may see, or those
// whose Field equals Value, a page of them from Offset.
type Query struct {
	// Field is "", "email", "id" or "externalId".
	Field, Value  string
	Offset, Limit int
}

// Accounts is where the accounts live. Every method sees only what the
// client may: the accounts it provisioned, those linked under its issuer
// and tenant exactly, and accounts no IdP has claimed yet at its domains;
// any other is ErrNotFound.
type Accounts interface {
	Get(ctx context.Context, c *Client, id string) (*Account, error)
	// List returns a page of the accounts the query finds, in a stable
	// order, and how many it finds in all.
	List(ctx context.Context, c *Client, q Query) ([]Account, int, error)
	// Create makes the account with what the client provisioned; an email
	// or an externalId already taken is ErrTaken.
	Create(ctx context.Context, c *Client, a *Account) error
	// Update writes a's email, name, state and what the client
	// provisioned to the account a.ID; ErrTaken as Create.
	Update(ctx context.Context, c *Client, a *Account) error
	// Delete removes the account and everything that ties it to anyone.
	Delete(ctx context.Context, c *Client, id string) error
}

// The errors an Accounts answers with.
var (
	ErrNotFound = errors.New("scim: no such account for this client")
	ErrTaken    = errors.New("scim: an email or externalId already taken")
)

// Taken is ErrTaken saying what is taken, in a sentence for the client.
type Taken struct{ Detail string }

func (t *Taken) Error() string        { return t.Detail }
func (t *Taken) Is(target error) bool { return target == ErrTaken }
