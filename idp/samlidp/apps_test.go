package samlidp

import (
	"strings"
	"testing"
)

const spMetadata = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://app.example/saml">
<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true">
<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://app.example/artifact" index="1"/>
<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://app.example/acs" index="2"/>
<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://app.example/default" index="3" isDefault="true"/>
</SPSSODescriptor></EntityDescriptor>`

// TestReadMetadata: what an administrator's pasted or uploaded metadata
// must be: SAML metadata, no markup a SAML message needs none of, an
// entity ID, an HTTP-POST ACS (the default one first), bounded in size.
func TestReadMetadata(t *testing.T) {
	md, err := ReadMetadata([]byte(spMetadata))
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != "https://app.example/saml" || PostACS(md) != "https://app.example/default" || !signsRequests(md) {
		t.Errorf("read %s, ACS %s, signs %v", md.EntityID, PostACS(md), signsRequests(md))
	}
	if (App{Metadata: spMetadata}).SignsRequests() != true || (App{}).SignsRequests() {
		t.Error("App.SignsRequests")
	}
	for _, tt := range []struct{ name, metadata, why string }{
		{"a DTD", `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + spMetadata, "the metadata has"},
		{"a comment", `<!-- hi -->` + spMetadata, "the metadata has"},
		{"not metadata", `<html/>`, "not SAML 2.0 metadata"},
		{"no entity ID", strings.Replace(spMetadata, `entityID="https://app.example/saml"`, `entityID=""`, 1), "no entity ID"},
		{"no HTTP-POST ACS", strings.ReplaceAll(spMetadata, "HTTP-POST", "HTTP-Redirect"), "no assertion consumer service with the HTTP-POST binding"},
		{"too large", spMetadata + strings.Repeat(" ", MaxMetadata), "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadMetadata([]byte(tt.metadata)); err == nil || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("got %v, want %q", err, tt.why)
			}
		})
	}
}

func TestCheckACSURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://app.example/acs":     true,
		"http://localhost:8080/acs":   true,
		"http://127.0.0.1:8080/acs":   true,
		"http://app.example/acs":      false,
		"/acs":                        false,
		"javascript:alert(1)":         false,
		"https:///no-host":            false,
		"http://localhost.evil.test/": false,
	} {
		if err := CheckACSURL(raw); (err == nil) != ok {
			t.Errorf("%s: %v", raw, err)
		}
	}
}
