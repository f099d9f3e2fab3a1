package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// A bad value stops start-up with a message naming the variable.
func TestRunRefusesBadConfiguration(t *testing.T) {
	env := map[string]string{
		"TRUSTED_ISSUER_1":            "https://idp.test",
		"TRUSTED_ISSUER_1_ALGORITHMS": "HS256",
		"IDP_ISSUER":                  "localhost:4000",
		"DATA_DIR":                    t.TempDir(),
	}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil {
		t.Fatal("started with a bad configuration")
	}
	for _, name := range []string{"TRUSTED_ISSUER_1_ALGORITHMS", "IDP_ISSUER"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s:\n%v", name, err)
		}
	}
}
