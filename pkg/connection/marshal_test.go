package connection

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"github.com/extbuilder/extbuilder/pkg/connection/template"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peerView is connection.json decoded by the peer's rules as the spec
// (section 4) states them: encoding/json into a struct, so booleans are
// strict and unknown fields ignored; dial_timeout is a duration string or a
// number of nanoseconds, 0 or absent meaning 3s.
type peerView struct {
	Address            string       `json:"address"`
	Domain             string       `json:"domain"`
	DialTimeout        peerDuration `json:"dial_timeout"`
	TLSRequired        bool         `json:"tls_required"`
	ClientAuthRequired bool         `json:"client_auth_required"`
	ClientKey          string       `json:"client_key"`
	ClientCert         string       `json:"client_cert"`
	RootCert           string       `json:"root_cert"`
}

type peerDuration time.Duration

func (d *peerDuration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case string:
		t, err := time.ParseDuration(v)
		*d = peerDuration(t)
		return err
	case float64:
		*d = peerDuration(time.Duration(v))
		return nil
	}
	return errors.New("invalid duration")
}

// peerDecode fails where the peer fails to launch the chaincode.
func peerDecode(data []byte) (peerView, error) {
	var v peerView
	if err := json.Unmarshal(data, &v); err != nil {
		return v, errors.New("malformed chaincode info: " + err.Error())
	}
	if v.DialTimeout == 0 {
		v.DialTimeout = peerDuration(3 * time.Second)
	}
	switch {
	case v.Address == "":
		return v, errors.New("chaincode address not provided")
	case !v.TLSRequired:
		return v, nil
	case v.ClientAuthRequired && v.ClientKey == "":
		return v, errors.New("chaincode tls key not provided")
	case v.ClientAuthRequired && v.ClientCert == "":
		return v, errors.New("chaincode tls cert not provided")
	case v.RootCert == "":
		return v, errors.New("chaincode tls root cert not provided")
	}
	if !x509.NewCertPool().AppendCertsFromPEM([]byte(v.RootCert)) {
		return v, errors.New("root_cert holds no usable certificate")
	}
	if v.ClientAuthRequired {
		if _, err := tls.X509KeyPair([]byte(v.ClientCert), []byte(v.ClientKey)); err != nil {
			return v, err
		}
	}
	return v, nil
}

func (v peerView) info() *Info {
	return &Info{Address: v.Address, Domain: v.Domain, DialTimeout: time.Duration(v.DialTimeout),
		TLSRequired: v.TLSRequired, ClientAuthRequired: v.ClientAuthRequired,
		ClientKey: v.ClientKey, ClientCert: v.ClientCert, RootCert: v.RootCert}
}

// keysInOrder lists the top-level keys of a JSON object as written.
func keysInOrder(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	_, err := dec.Token()
	require.NoError(t, err)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

func TestMarshal(t *testing.T) {
	f := pki()
	t.Run("field order and types", func(t *testing.T) {
		info := &Info{Address: "mycc:9999", Domain: "cc.internal", DialTimeout: 90 * time.Second,
			TLSRequired: true, ClientAuthRequired: true, ClientKey: f.client.KeyPEM, ClientCert: f.client.CertPEM, RootCert: f.ca.CertPEM}
		out := info.Marshal()
		assert.Equal(t, []string{"address", "domain", "dial_timeout", "tls_required", "client_auth_required",
			"client_key", "client_cert", "root_cert"}, keysInOrder(t, out))
		var generic map[string]any
		require.NoError(t, json.Unmarshal(out, &generic))
		assert.Equal(t, true, generic["tls_required"], "JSON boolean, not a string")
		assert.Equal(t, true, generic["client_auth_required"])
		assert.Equal(t, "1m30s", generic["dial_timeout"], "a duration string: a number would be nanoseconds")
		assert.Equal(t, "cc.internal", generic["domain"], "domain is kept, unlike ccaas_builder")
		assert.Equal(t, f.client.KeyPEM, generic["client_key"], "inline PEM with real newlines")
		assert.NotContains(t, string(out), `\\n`)
		assert.True(t, bytes.HasSuffix(out, []byte("}\n")), "ends with a newline")
	})
	t.Run("empty optional fields are left out, booleans always written", func(t *testing.T) {
		out := (&Info{Address: "mycc:9999", DialTimeout: DefaultDialTimeout}).Marshal()
		assert.Equal(t, []string{"address", "dial_timeout", "tls_required", "client_auth_required"}, keysInOrder(t, out))
		assert.Contains(t, string(out), `"dial_timeout": "3s"`)
		assert.Contains(t, string(out), `"tls_required": false`)
	})
	t.Run("no HTML escaping", func(t *testing.T) {
		out := (&Info{Address: "cc:1", Domain: "a<b>&c", DialTimeout: time.Second}).Marshal()
		assert.Contains(t, string(out), `"domain": "a<b>&c"`)
	})
	t.Run("default written out after parse", func(t *testing.T) {
		info, _, err := parseDoc(t, encode(t, plainDoc()), Options{Expander: template.Engine{}})
		require.NoError(t, err)
		assert.Contains(t, string(info.Marshal()), `"dial_timeout": "3s"`)
	})
}

// The released file is what the peer decodes: same values, no error, and the
// release step re-reads it unchanged.
func TestMarshalPeerView(t *testing.T) {
	f := pki()
	src := packageDir(t)
	docs := map[string]map[string]any{
		"plain":                    plainDoc(),
		"mutual TLS":               with(mtlsDoc(), "domain", "cc.internal", "dial_timeout", "250ms"),
		"docs' example":            with(mtlsDoc(), "tls_required", "true", "client_auth_required", "true", "dial_timeout", "10s"),
		"server TLS only":          obj("address", "[::1]:7052", "tls_required", true, "root_cert", f.ca.CertPEM+f.otherCA.CertPEM),
		"by file":                  byFileDoc(),
		"templated":                obj("address", "{{.peername}}-cc:{{.port}}", "domain", "{{.peername}}"),
		"escaped newlines":         with(mtlsDoc(), "root_cert", bytesReplace(f.ca.CertPEM)),
		"TLS off with leftovers":   with(mtlsDoc(), "tls_required", false),
		"RSA pair":                 with(mtlsDoc(), "client_cert", f.rsaCertPEM, "client_key", f.rsaPKCS1PEM),
		"unusual characters kept":  obj("address", "mycc:9999", "root_cert", "é<&>\u2028"),
		"long dial_timeout":        with(plainDoc(), "dial_timeout", "2562047h"),
		"nanosecond dial_timeout":  with(plainDoc(), "dial_timeout", "1ns"),
		"fractional dial_timeout":  with(plainDoc(), "dial_timeout", "1.5s"),
		"string false booleans":    with(plainDoc(), "tls_required", "false", "client_auth_required", "false"),
		"zero-padded port kept":    obj("address", "cc:0080"),
		"IPv6 with zone":           obj("address", "[fe80::1%eth0]:7052"),
		"client auth, TLS missing": obj("address", "h:1", "client_auth_required", true),
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			info, _, err := parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}, SourceDir: src, Config: peerConfig})
			require.NoError(t, err)
			out := info.Marshal()

			seen, err := peerDecode(out)
			require.NoError(t, err, "the peer must accept what build writes:\n%s", out)
			assert.Equal(t, info, seen.info(), "the peer reads the values we validated")

			again, warnings, err := parseDoc(t, out, Options{Expander: template.Engine{}, Templates: LiteralValues})
			require.NoError(t, err)
			assert.Equal(t, info, again, "release re-reads the same values")
			assert.Equal(t, out, again.Marshal(), "encoding is stable")
			for _, w := range warnings {
				assert.NotContains(t, w.Problem, "was written as", "nothing left to normalize")
				assert.NotContains(t, w.Problem, "instead of line breaks", "nothing left to normalize")
			}
		})
	}
	t.Run("the docs' example as written fails at the peer", func(t *testing.T) {
		// Why normalization exists: the peer refuses the strings the docs teach.
		_, err := peerDecode(encode(t, with(mtlsDoc(), "tls_required", "true")))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "malformed chaincode info")
	})
	t.Run("a numeric dial_timeout is nanoseconds at the peer", func(t *testing.T) {
		// Why numbers are refused: 10 would be a 10ns timeout.
		seen, err := peerDecode([]byte(`{"address":"h:1","dial_timeout":10}`))
		require.NoError(t, err)
		assert.Equal(t, peerDuration(10), seen.DialTimeout)
	})
}

func bytesReplace(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte("\n"), []byte(`\n`)))
}
