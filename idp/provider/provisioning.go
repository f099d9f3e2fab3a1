package provider

import (
	"context"

	"xaa.example/idp/console"
	"xaa.example/idp/provisioning"
	"xaa.example/idp/store"
)

// Provisioning (package provisioning) pushes people to the apps over SCIM.
// The provider gives it the directory (people) and tells it what an
// administrator changed.

// provisionChange pushes a person's new state to every app provisioning
// is on for, or everyone to an app it was switched on for. A failure to
// queue is logged: the admin's change stands.
func (s *Server) provisionChange(ctx context.Context, ch console.Change) {
	var err error
	switch {
	case ch.Person != nil:
		u := ch.Person.User
		err = s.provisioning.Changed(ctx, provisioning.Person{ID: u.ID, Email: u.Email, Name: u.Name, Disabled: u.Disabled}, ch.Person.State)
	case ch.Provisioning != nil:
		err = s.provisioning.AssignEveryone(ctx, ch.Provisioning)
	}
	if err != nil {
		s.cfg.Log.Error("provisioning: queue", "err", err)
	}
}

// people is the IdP's directory as provisioning reads it.
type people struct{ store *store.Store }

func (p people) Person(ctx context.Context, id string) (*provisioning.Person, error) {
	u, err := p.store.User(ctx, id)
	if err != nil {
		return nil, err
	}
	return &provisioning.Person{ID: u.ID, Email: u.Email, Name: u.Name, Disabled: u.Disabled}, nil
}

func (p people) Everyone(ctx context.Context) ([]provisioning.Person, error) {
	users, err := p.store.Everyone(ctx)
	out := make([]provisioning.Person, 0, len(users))
	for _, u := range users {
		out = append(out, provisioning.Person{ID: u.ID, Email: u.Email, Name: u.Name, Disabled: u.Disabled})
	}
	return out, err
}
