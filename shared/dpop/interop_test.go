package dpop

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"xaa.example/shared/replay/replaytest"

	"xaa.example/shared/npmtest"
)

// panvaDPoP is the release of panva's dpop package (the DPoP proofs of
// oauth4webapi, no one here wrote it) the interoperability test installs
// from the npm registry.
const panvaDPoP = "2.1.2"

// proofMaker prints one DPoP proof for argv[2] (an algorithm), POST,
// argv[3] (htu) and, when given, argv[4] (an access token).
const proofMaker = `import * as DPoP from "dpop";
const [alg, htu, token] = process.argv.slice(2);
const pair = await DPoP.generateKeyPair(alg);
console.log(await DPoP.generateProof(pair, htu, "POST", undefined, token));
`

// TestProofsOfAnotherLibrary (issue 33, DPoP 16): proofs made by panva's
// dpop package, in each algorithm it offers that this verifier allows,
// pass; its Ed25519 proofs name their algorithm "Ed25519" (RFC 9864's
// name for EdDSA with that curve), which was refused.
func TestProofsOfAnotherLibrary(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir := npmtest.Install(ctx, t, "the DPoP interoperability test (panva's dpop)", map[string]string{
		"package.json": `{"name":"dpop-interop","private":true,"type":"module","dependencies":{"dpop":"` + panvaDPoP + `"}}`,
		"proof.mjs":    proofMaker,
	})
	const htu = "https://as.test/token"
	for _, alg := range []string{"Ed25519", "ES256", "RS256", "PS256"} {
		t.Run(alg, func(t *testing.T) {
			cmd := exec.CommandContext(ctx, "node", "proof.mjs", alg, htu)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			proof := strings.TrimSpace(string(out))
			v := &Verifier{Replay: &replaytest.Memory{}}
			got, err := v.Verify(ctx, Request{Proofs: []string{proof}, Method: "POST", URL: htu})
			if err != nil || got.Thumbprint == "" {
				t.Fatalf("a %s proof of panva's dpop: %v", alg, err)
			}
			// And once only.
			if _, err := v.Verify(ctx, Request{Proofs: []string{proof}, Method: "POST", URL: htu}); err == nil {
				t.Error("the same proof passed twice")
			}
		})
	}
}
