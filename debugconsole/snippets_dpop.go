package debugconsole

import "strings"

// A DPoP-bound request (RFC 9449) runs only with a proof by the key its
// token is bound to, which for the wiki's requests never leaves the wiki.
// So a snippet makes its own proof, with the key in the file named by
// DPOP_KEY (a P-256 private key, PKCS#8 PEM, as
// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` writes
// it): the redeem and the call made with the same key get, and then use, a
// token bound to it. Each language signs with what it has: Node's crypto,
// Java's SHA256withECDSAinP1363Format, Go's crypto/ecdsa, .NET's ECDsa;
// Python's standard library has no elliptic curves, so it asks openssl,
// as the shell does.

// dpopNote is what the Code tab says above a DPoP step's snippets.
func dpopNote(s Step) string {
	return "This request carried a DPoP proof (RFC 9449) of the " + name(s.From) + "'s key, which never leaves the " + name(s.From) + ". " +
		"Each snippet below makes its own proof with the P-256 key in the file DPOP_KEY; " +
		"the ID-JAG and the access token asked for with that key's proofs are bound to it, and work with it. " +
		"Without DPoP (DPOP=false), the same calls go as Bearer, with no proof."
}

// usesDPoP reports whether the step's request carried a DPoP proof.
func usesDPoP(s Step) bool { return readRequest(s).DPoP }

// htuPath is the request's URL without its query, the proof's htu.
func (r request) htuPath() string {
	u, _, _ := strings.Cut(r.URL, "?")
	return u
}

// jsDPoP is the JavaScript that makes a proof: imports, then dpopProof.
const jsDPoP = `import { createHash, createPrivateKey, randomUUID, sign } from "node:crypto";
import { readFileSync } from "node:fs";

// A DPoP proof (RFC 9449 §4) by the key in the file DPOP_KEY.
const dpopKey = createPrivateKey(readFileSync(process.env.DPOP_KEY));
function dpopProof(htm, htu, accessToken) {
  const b64u = (b) => Buffer.from(b).toString("base64url");
  const { kty, crv, x, y } = dpopKey.export({ format: "jwk" });
  const claims = { jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000) };
  if (accessToken) claims.ath = b64u(createHash("sha256").update(accessToken).digest());
  const input = b64u(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } })) + "." + b64u(JSON.stringify(claims));
  return input + "." + b64u(sign("sha256", Buffer.from(input), { key: dpopKey, dsaEncoding: "ieee-p1363" }));
}

`

// pythonDPoP is the Python that makes a proof, with openssl.
const pythonDPoP = `import hashlib, json, subprocess, time, uuid

def dpop_proof(htm, htu, access_token=None):
    """A DPoP proof (RFC 9449 §4) by the key in the file DPOP_KEY, signed by openssl."""
    key = os.environ["DPOP_KEY"]
    b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    point = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout[-64:]
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": b64u(point[:32]), "y": b64u(point[32:])}}
    claims = {"jti": str(uuid.uuid4()), "htm": htm, "htu": htu, "iat": int(time.time())}
    if access_token:
        claims["ath"] = b64u(hashlib.sha256(access_token.encode()).digest())
    signing_input = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input.encode(), check=True, capture_output=True).stdout
    # openssl writes SEQUENCE { r INTEGER, s INTEGER }; a JWS wants r || s.
    r_len = der[3]
    r, s = der[4:4 + r_len], der[6 + r_len:6 + r_len + der[5 + r_len]]
    return signing_input + "." + b64u(r[-32:].rjust(32, b"\0") + s[-32:].rjust(32, b"\0"))

`

// javaDPoP is the Java method that makes a proof.
const javaDPoP = `  // A DPoP proof (RFC 9449 §4) by the key in the file DPOP_KEY.
  static String dpopProof(String htm, String htu, String accessToken) throws Exception {
    var b64u = Base64.getUrlEncoder().withoutPadding();
    var der = Base64.getMimeDecoder().decode(Files.readString(Path.of(System.getenv("DPOP_KEY"))).replaceAll("-----[A-Z ]+-----", ""));
    var key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
    // The PKCS#8 key ends with its public point: 04, x, y.
    var x = b64u.encodeToString(Arrays.copyOfRange(der, der.length - 64, der.length - 32));
    var y = b64u.encodeToString(Arrays.copyOfRange(der, der.length - 32, der.length));
    var header = "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" + x + "\",\"y\":\"" + y + "\"}}";
    var claims = "{\"jti\":\"" + UUID.randomUUID() + "\",\"htm\":\"" + htm + "\",\"htu\":\"" + htu + "\",\"iat\":" + System.currentTimeMillis() / 1000;
    if (accessToken != null) {
      claims += ",\"ath\":\"" + b64u.encodeToString(MessageDigest.getInstance("SHA-256").digest(accessToken.getBytes(StandardCharsets.US_ASCII))) + "\"";
    }
    var input = b64u.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "." + b64u.encodeToString((claims + "}").getBytes(StandardCharsets.UTF_8));
    var signer = Signature.getInstance("SHA256withECDSAinP1363Format");
    signer.initSign(key);
    signer.update(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + b64u.encodeToString(signer.sign());
  }

`

// csharpDPoP is the C# local function that makes a proof.
const csharpDPoP = `
// A DPoP proof (RFC 9449 §4) by the key in the file DPOP_KEY.
static string DpopProof(string htm, string htu, string? accessToken)
{
    static string B64u(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    using var key = System.Security.Cryptography.ECDsa.Create();
    key.ImportFromPem(File.ReadAllText(Environment.GetEnvironmentVariable("DPOP_KEY")!));
    var q = key.ExportParameters(false).Q;
    var header = System.Text.Json.JsonSerializer.Serialize(new { typ = "dpop+jwt", alg = "ES256", jwk = new { kty = "EC", crv = "P-256", x = B64u(q.X!), y = B64u(q.Y!) } });
    var claims = new Dictionary<string, object> { ["jti"] = Guid.NewGuid().ToString(), ["htm"] = htm, ["htu"] = htu, ["iat"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() };
    if (accessToken != null) claims["ath"] = B64u(System.Security.Cryptography.SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)));
    var input = B64u(Encoding.UTF8.GetBytes(header)) + "." + B64u(Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(claims)));
    return input + "." + B64u(key.SignData(Encoding.ASCII.GetBytes(input), System.Security.Cryptography.HashAlgorithmName.SHA256));
}`

// goDPoP is the Go function that makes a proof.
const goDPoP = `
// dpopProof is a DPoP proof (RFC 9449 §4) by the key in the file DPOP_KEY.
func dpopProof(htm, htu, accessToken string) string {
	pemBytes, err := os.ReadFile(os.Getenv("DPOP_KEY"))
	if err != nil {
		panic(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		panic("DPOP_KEY is not a PEM file")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		panic(err)
	}
	key := parsed.(*ecdsa.PrivateKey)
	pub, err := key.PublicKey.ECDH()
	if err != nil {
		panic(err)
	}
	point := pub.Bytes() // 04, x, y
	b64u := base64.RawURLEncoding.EncodeToString
	header, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256",
		"jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": b64u(point[1:33]), "y": b64u(point[33:])}})
	claims := map[string]any{"jti": rand.Text(), "htm": htm, "htu": htu, "iat": time.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = b64u(sum[:])
	}
	payload, _ := json.Marshal(claims)
	input := b64u(header) + "." + b64u(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64u(sig)
}
`

// shellDPoP is the bash that makes a proof into $proof; htm, htu and the
// access token are set before it.
const shellDPoP = `# A DPoP proof (RFC 9449 §4) by the key in the file DPOP_KEY, with openssl.
b64u() { base64 | tr -d '\n=' | tr '+/' '-_'; }
x=$(openssl pkey -in "$DPOP_KEY" -pubout -outform DER | tail -c 64 | head -c 32 | b64u)
y=$(openssl pkey -in "$DPOP_KEY" -pubout -outform DER | tail -c 32 | b64u)
claims=$(printf '{"jti":"%s","htm":"%s","htu":"%s","iat":%s' "$(openssl rand -hex 16)" "$htm" "$htu" "$(date +%s)")
if [ -n "${ath_token:-}" ]; then
  claims="$claims,\"ath\":\"$(printf %s "$ath_token" | openssl dgst -sha256 -binary | b64u)\""
fi
input="$(printf '{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"%s","y":"%s"}}' "$x" "$y" | b64u).$(printf '%s}' "$claims" | b64u)"
# openssl writes SEQUENCE { r INTEGER, s INTEGER }; a JWS wants r || s.
rs=$(printf %s "$input" | openssl dgst -sha256 -sign "$DPOP_KEY" | openssl asn1parse -inform DER |
  awk -F: '/INTEGER/ { h = $NF; while (length(h) > 64) h = substr(h, 3); printf "%064s", h }' | tr ' ' 0)
proof="$input.$(printf '%b' "$(printf %s "$rs" | sed 's/../\\x&/g')" | b64u)"

`
