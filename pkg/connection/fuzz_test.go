package connection

import (
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"github.com/extbuilder/extbuilder/pkg/connection/template"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzParse feeds the decoder anything. Invariants: no panic; errors are
// *Error values of one line that show no key material; a success encodes to
// a file that release reads back (LiteralValues) as the same Info.
func FuzzParse(f *testing.F) {
	pk := pki()
	src := f.TempDir()
	for name, content := range map[string]string{
		"tls/ca.pem": pk.ca.CertPEM, "tls/client.pem": pk.client.CertPEM, "tls/client.key": pk.client.KeyPEM,
	} {
		require.NoError(f, os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o700))
		require.NoError(f, os.WriteFile(filepath.Join(src, name), []byte(content), 0o600))
	}
	config, err := json.Marshal(map[string]any{"peername": "peer0org1", "port": 9999, "tls": "true", "ca": pk.ca.CertPEM})
	require.NoError(f, err)
	opts := Options{Expander: template.Engine{}, SourceDir: src, Config: string(config), Now: pk.now}

	seed := func(m map[string]any) { f.Add(encode(f, m)) }
	// Realistic.
	seed(plainDoc())
	seed(mtlsDoc())
	seed(with(mtlsDoc(), "tls_required", "true", "client_auth_required", "true", "dial_timeout", "10s"))
	seed(with(mtlsDoc(), "domain", "cc.internal"))
	seed(byFileDoc())
	seed(obj("address", "{{.peername}}-cc:{{.port}}", "tls_required", "{{.tls}}", "root_cert", "{{.ca}}"))
	seed(obj("address", "[::1]:7052", "tls_required", true, "root_cert_file", "tls/ca.pem"))
	seed(with(mtlsDoc(), "client_key", strings.ReplaceAll(pk.client.KeyPEM, "\n", `\n`)))
	seed(with(mtlsDoc(), "client_cert", pk.rsaCertPEM, "client_key", pk.rsaPKCS1PEM))
	f.Add([]byte("{\n  \"address\": \"mycc:9999\",\n  \"dial_timeout\": \"3s\"\n}\n"))
	// Hostile.
	seed(with(mtlsDoc(), "root_cert", pk.client.KeyPEM))
	seed(with(mtlsDoc(), "address", pk.client.KeyPEM))
	seed(with(mtlsDoc(), "client_cert", pk.client.KeyPEM, "client_key", pk.client.CertPEM))
	seed(with(mtlsDoc(), "client_key", pk.stranger.KeyPEM))
	seed(with(mtlsDoc(), "client_key", pk.client.KeyPEM+"{{"))
	seed(obj("address", "h:1", pk.client.KeyPEM, true))
	seed(obj("address", "{{.nope}}:1", "domain", "{{printf \"%q\" .ca}}"))
	seed(obj("address", "{{/* c */}}h:1", "dial_timeout", raw(`1e400`)))
	seed(obj("address", "h:1", "root_cert_file", "../../etc/passwd", "client_key_file", "/etc/shadow"))
	seed(obj("address", "grpc://h:+80/x", "tls_require", true))
	for _, s := range []string{
		``, `null`, `[]`, `"x"`, `{`, `{"address":"h:1"} {}`, `{"address":"h:1","address":"h:2"}`,
		`{"a\u0000":1}`, "{\"address\":\"h\xff:1\"}", "\uFEFF{}", `{"address":"h:1","dial_timeout":-0}`,
		`{"address":"{{range .}}{{.}}{{end}}:1"}`, `{"address":"{{define \"a\"}}x{{end}}h:1"}`,
		`{"address":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`,
		`{"address":"h:1","tls_required":"\u0074rue"}`, `{"address":"\ud800:1"}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		info, warnings, err := Parse(data, opts)
		secrets := inputSecrets(data)
		for _, w := range warnings {
			checkFuzzMessage(t, w.String(), secrets)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			checkFuzzMessage(t, err.Error(), secrets)
			if info != nil {
				t.Fatal("Info with an error")
			}
			return
		}
		out := info.Marshal()
		again, _, err := Parse(out, Options{Expander: template.Engine{}, Templates: LiteralValues, Now: pk.now})
		if err != nil {
			t.Fatalf("release refuses what build wrote: %v\n%s", err, out)
		}
		if *again != *info {
			t.Fatalf("release reads other values:\nbuild:   %#v\nrelease: %#v", info, again)
		}
	})
}

// inputSecrets returns 32-character pieces of the base64 bodies of the
// private keys that the input holds as PEM in a JSON string, leaving out any
// piece that also occurs in another string outside a key: a message showing
// such a piece may be quoting that other string, not the key.
func inputSecrets(data []byte) []string {
	var doc map[string]any
	if json.Unmarshal(data, &doc) != nil {
		return nil // syntax errors show a character, never a value
	}
	var texts []string
	for k, v := range doc {
		texts = append(texts, k)
		if s, ok := v.(string); ok {
			texts = append(texts, s)
		}
	}
	var secrets []string
	for i, text := range texts {
		for _, body := range keyBodies(text) {
			for j := 0; j+32 <= len(body); j += 16 {
				if piece := body[j : j+32]; !inOtherText(texts, i, piece) {
					secrets = append(secrets, piece)
				}
			}
		}
	}
	return secrets
}

// keyBodies returns the base64 of every private key PEM block in text.
func keyBodies(text string) []string {
	var bodies []string
	rest := []byte(strings.ReplaceAll(text, `\n`, "\n"))
	for {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return bodies
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			bodies = append(bodies, base64.StdEncoding.EncodeToString(block.Bytes))
		}
	}
}

func inOtherText(texts []string, skip int, piece string) bool {
	for i, t := range texts {
		if i == skip || !strings.Contains(compact(t), piece) {
			continue
		}
		inKey := false
		for _, body := range keyBodies(t) {
			inKey = inKey || strings.Contains(body, piece)
		}
		if !inKey {
			return true
		}
	}
	return false
}

// compact drops line breaks, escaped or not, so that a key body reads as one run.
func compact(s string) string {
	return strings.NewReplacer(`\n`, "", `\r`, "", "\n", "", "\r", "").Replace(s)
}

func checkFuzzMessage(t *testing.T, msg string, secrets []string) {
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("message is not one line: %q", msg)
	}
	if strings.Contains(msg, "PRIVATE KEY") {
		t.Fatalf("message shows a key label: %q", msg)
	}
	flat := compact(msg)
	for _, s := range secrets {
		if strings.Contains(flat, s) {
			t.Fatalf("message shows key material: %q", msg)
		}
	}
}

// BenchmarkParse is decode and validation of a mutual-TLS connection.json,
// the work build and release each do once per install.
func BenchmarkParse(b *testing.B) {
	data := encode(b, with(mtlsDoc(), "domain", "cc.internal", "dial_timeout", "10s"))
	opts := Options{Expander: template.Engine{}, Now: time.Now()}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Parse(data, opts); err != nil {
			b.Fatal(err)
		}
	}
}
