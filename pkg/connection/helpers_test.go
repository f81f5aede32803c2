package connection

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

// fixture is the test PKI, generated once per test binary: nothing secret is
// committed, and key generation stays out of every test's time.
type fixture struct {
	now          time.Time
	ca, otherCA  *testpki.CA
	client       *testpki.Pair // valid now, issued by ca
	stranger     *testpki.Pair // another client: its key matches nothing else
	expired      *testpki.Pair
	notYetValid  *testpki.Pair
	ecKeyPEM     string // client's key as "EC PRIVATE KEY" (SEC 1)
	rsaCertPEM   string
	rsaPKCS1PEM  string // "RSA PRIVATE KEY"
	rsaPKCS8PEM  string // "PRIVATE KEY" holding RSA
	edCertPEM    string
	edPKCS8PEM   string
	secretPEMs   []string // every private key above, for leak checks
	secretChunks []string // 32-character pieces of their base64 bodies
}

var pki = sync.OnceValue(func() *fixture {
	f := &fixture{now: time.Now().UTC().Truncate(time.Second)}
	f.ca = testpki.NewCA("test-ca")
	f.otherCA = testpki.NewCA("other-ca")
	f.client = f.ca.Client("peer0-client")
	f.stranger = f.ca.Client("stranger")
	f.expired = f.ca.ClientValid("old-client", f.now.Add(-48*time.Hour), f.now.Add(-24*time.Hour))
	f.notYetValid = f.ca.ClientValid("future-client", f.now.Add(24*time.Hour), f.now.Add(48*time.Hour))

	der, err := x509.MarshalECPrivateKey(f.client.Key)
	must(err)
	f.ecKeyPEM = encodePEM("EC PRIVATE KEY", der)

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	f.rsaCertPEM = issue(f.ca, "rsa-client", rsaKey, f.now)
	f.rsaPKCS1PEM = encodePEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	der, err = x509.MarshalPKCS8PrivateKey(rsaKey)
	must(err)
	f.rsaPKCS8PEM = encodePEM("PRIVATE KEY", der)

	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	f.edCertPEM = issue(f.ca, "ed-client", edKey, f.now)
	der, err = x509.MarshalPKCS8PrivateKey(edKey)
	must(err)
	f.edPKCS8PEM = encodePEM("PRIVATE KEY", der)

	f.secretPEMs = []string{f.client.KeyPEM, f.stranger.KeyPEM, f.expired.KeyPEM, f.notYetValid.KeyPEM,
		f.ecKeyPEM, f.rsaPKCS1PEM, f.rsaPKCS8PEM, f.edPKCS8PEM}
	for _, k := range f.secretPEMs {
		f.secretChunks = append(f.secretChunks, bodyChunks(k)...)
	}
	return f
})

// issue makes a client certificate for a key testpki does not make (RSA, Ed25519).
func issue(ca *testpki.CA, cn string, key crypto.Signer, now time.Time) string {
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	must(err)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	must(err)
	return encodePEM("CERTIFICATE", der)
}

func encodePEM(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// bodyChunks cuts the base64 body of PEM text into 32-character pieces: any
// of them in a message means key material leaked.
func bodyChunks(pemText string) []string {
	var chunks []string
	for _, line := range strings.Split(pemText, "\n") {
		if strings.HasPrefix(line, "-----") {
			continue
		}
		for i := 0; i+32 <= len(line); i += 16 {
			chunks = append(chunks, line[i:i+32])
		}
	}
	return chunks
}

// obj builds a connection.json object from name/value pairs; a value of type
// raw is written as is.
func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// with returns a copy of m with the pairs set; a nil value removes the field.
func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

type raw = json.RawMessage

func encode(t testing.TB, m map[string]any) []byte {
	t.Helper()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	return data
}

func plainDoc() map[string]any { return obj("address", "mycc.example.com:9999") }

func mtlsDoc() map[string]any {
	f := pki()
	return obj("address", "mycc.example.com:9999", "tls_required", true, "client_auth_required", true,
		"root_cert", f.ca.CertPEM, "client_cert", f.client.CertPEM, "client_key", f.client.KeyPEM)
}

// parseDoc runs Parse at the fixture's time unless opts say otherwise, and
// checks that every message it returns keeps the rules for messages.
func parseDoc(t testing.TB, data []byte, opts Options) (*Info, []Warning, error) {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = pki().now
	}
	info, warnings, err := Parse(data, opts)
	for _, w := range warnings {
		checkMessage(t, w.String())
	}
	if err != nil {
		checkMessage(t, err.Error())
		var e *Error
		require.True(t, errors.As(err, &e), "errors are *connection.Error values, got %T", err)
		assert.Nil(t, info, "Info must be nil on error")
	} else {
		require.NotNil(t, info)
	}
	return info, warnings, err
}

// checkMessage enforces what every error and warning line must be: one line,
// no key material, no PEM label of a key.
func checkMessage(t testing.TB, msg string) {
	t.Helper()
	assert.NotContains(t, msg, "\n", "messages are one line")
	assert.NotContains(t, msg, "\r", "messages are one line")
	assert.NotContains(t, msg, "PRIVATE KEY", "messages never show key PEM")
	for _, c := range pki().secretChunks {
		if strings.Contains(msg, c) {
			t.Errorf("message holds key material: %s", msg)
			return
		}
	}
}

// fieldError asserts err is an *Error about field whose problem contains
// every fragment, and returns it for further checks.
func fieldError(t testing.TB, err error, field string, fragments ...string) *Error {
	t.Helper()
	require.Error(t, err)
	var e *Error
	require.True(t, errors.As(err, &e), "got %T: %v", err, err)
	assert.Equal(t, field, e.Field, "field of %q", err.Error())
	for _, f := range fragments {
		assert.Contains(t, e.Problem+"; hint: "+e.Hint, f)
	}
	return e
}

// warningFor returns the first warning about field, failing when there is none.
func warningFor(t testing.TB, warnings []Warning, field string) Warning {
	t.Helper()
	for _, w := range warnings {
		if w.Field == field {
			return w
		}
	}
	t.Fatalf("no warning about %q in %v", field, warnings)
	return Warning{}
}

func hasWarningFor(warnings []Warning, field string) bool {
	for _, w := range warnings {
		if w.Field == field {
			return true
		}
	}
	return false
}
