package authserver

import (
	"context"

	"xaa.example/shared/op"
)

// Account implements op.Accounts: the ID tokens this server issues its
// apps name the local account.
func (s *store) Account(ctx context.Context, id string) (op.Account, error) {
	u, err := s.user(ctx, id) // never nil, empty when err
	return op.Account{ID: u.ID, Email: u.Email, Name: u.Name}, err
}
