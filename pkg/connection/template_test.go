package connection

import (
	"github.com/extbuilder/extbuilder/pkg/connection/template"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const peerConfig = `{"peername":"peer0org1","port":9999,"org":"org1","tls":"true","timeout":"7s","nested":{"zone":"eu"}}`

func TestTemplateExpansion(t *testing.T) {
	f := pki()
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "org1"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(src, "org1", "ca.pem"), []byte(f.ca.CertPEM), 0o600))

	cases := []struct {
		name  string
		doc   map[string]any
		check func(t *testing.T, info *Info)
	}{
		{"address", obj("address", "{{.peername}}-cc:{{.port}}"), func(t *testing.T, info *Info) {
			assert.Equal(t, "peer0org1-cc:9999", info.Address)
		}},
		{"nested key", obj("address", "cc.{{.nested.zone}}.example.com:1"), func(t *testing.T, info *Info) {
			assert.Equal(t, "cc.eu.example.com:1", info.Address)
		}},
		{"domain", with(mtlsDoc(), "domain", "{{.peername}}.example.com"), func(t *testing.T, info *Info) {
			assert.Equal(t, "peer0org1.example.com", info.Domain)
		}},
		{"dial_timeout", with(plainDoc(), "dial_timeout", "{{.timeout}}"), func(t *testing.T, info *Info) {
			assert.Equal(t, 7*time.Second, info.DialTimeout)
		}},
		{"boolean from the variable is not a warning-worthy string", with(mtlsDoc(), "tls_required", "{{.tls}}"), func(t *testing.T, info *Info) {
			assert.True(t, info.TLSRequired)
		}},
		{"file reference", with(mtlsDoc(), "root_cert", nil, "root_cert_file", "{{.org}}/ca.pem"), func(t *testing.T, info *Info) {
			assert.Equal(t, f.ca.CertPEM, info.RootCert)
		}},
		{"comment needs no variable value", obj("address", "{{/* one package, many peers */}}mycc:9999"), func(t *testing.T, info *Info) {
			assert.Equal(t, "mycc:9999", info.Address)
		}},
		{"trim markers", obj("address", "mycc {{- /* x */ -}} :9999"), func(t *testing.T, info *Info) {
			assert.Equal(t, "mycc:9999", info.Address)
		}},
		{"text without actions is untouched", obj("address", "mycc:9999", "root_cert", "a{b}c"), func(t *testing.T, info *Info) {
			assert.Equal(t, "a{b}c", info.RootCert) // kept as written: TLS is off, the peer ignores it
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			info, warnings, err := parseDoc(t, encode(t, c.doc), Options{Expander: template.Engine{}, Config: peerConfig, SourceDir: src})
			require.NoError(t, err)
			c.check(t, info)
			for _, w := range warnings {
				assert.NotEqual(t, "tls_required", w.Field, "a templated value is not the docs' string mistake")
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	cases := []struct {
		name   string
		doc    map[string]any
		config string
		field  string
		want   []string
	}{
		{"missing key", obj("address", "{{.peer}}-cc:9999"), peerConfig, "address",
			[]string{`template key "peer" is not in ` + ConfigVariable, `"peername"`, `"port"`, "propagateEnvironment"}},
		{"missing key in a boolean", with(mtlsDoc(), "client_auth_required", "{{.auth}}"), peerConfig, "client_auth_required",
			[]string{`template key "auth"`, "propagateEnvironment"}},
		{"missing key in a file reference", obj("address", "h:1", "root_cert_file", "{{.orgname}}/ca.pem"), peerConfig, "root_cert_file",
			[]string{`template key "orgname"`}},
		{"empty object", obj("address", "{{.peername}}:1"), `{}`, "address",
			[]string{`template key "peername"`, "(it has: no keys)"}},
		{"variable unset", obj("address", "{{.peername}}:1"), "", "address",
			[]string{"uses a template but " + ConfigVariable + " is not set", "propagateEnvironment"}},
		{"variable blank", obj("address", "{{.peername}}:1"), "  ", "address",
			[]string{"is not set"}},
		{"unclosed action", obj("address", "{{.peername:1"), peerConfig, "address",
			[]string{"malformed template", "text/template syntax"}},
		{"unknown function", obj("address", "{{peername}}:1"), peerConfig, "address",
			[]string{"malformed template", `function "peername" not defined`}},
		{"stray end", obj("address", "h:1{{end}}"), peerConfig, "address",
			[]string{"malformed template"}},
		{"line break inside", obj("address", "{{.peername}}\n{{bad}}:1"), peerConfig, "address",
			[]string{"malformed template", "address:2:"}},
		{"execution failure", obj("address", "{{.peername.x}}:1"), peerConfig, "address",
			[]string{"template failed"}},
		{"runaway output", obj("address", `{{printf "%0999999d" 1}}{{printf "%0999999d" 1}}:1`), peerConfig, "address",
			[]string{"template output is over 1048576 bytes (1 MiB)"}},
		{"expanded value still validated", obj("address", "{{.peername}}"), peerConfig, "address",
			[]string{`expected host:port, found "peer0org1"`}},
		{"expanded boolean still checked", with(mtlsDoc(), "tls_required", "{{.org}}"), peerConfig, "tls_required",
			[]string{`found the string "org1"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, encode(t, c.doc), Options{Expander: template.Engine{}, Config: c.config})
			fieldError(t, err, c.field, c.want...)
		})
	}
	t.Run("unset variable is fine without templates", func(t *testing.T) {
		_, _, err := parseDoc(t, encode(t, mtlsDoc()), Options{Expander: template.Engine{}})
		require.NoError(t, err)
	})
	t.Run("many keys are listed briefly", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("{")
		for i := range 100 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"key` + strings.Repeat("x", i) + `":1`)
		}
		b.WriteString("}")
		_, _, err := parseDoc(t, encode(t, obj("address", "{{.missing}}:1")), Options{Expander: template.Engine{}, Config: b.String()})
		e := fieldError(t, err, "address", "and 80 more")
		assert.Less(t, len(e.Error()), 4000)
	})
	t.Run("template errors in a key field show no key", func(t *testing.T) {
		doc := with(mtlsDoc(), "client_key", pki().client.KeyPEM+"{{")
		_, _, err := parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}, Config: peerConfig})
		fieldError(t, err, "client_key", "malformed template")
	})
}

func TestConfigVariableErrors(t *testing.T) {
	cases := []struct{ name, config, want string }{
		{"truncated", `{"peername":`, "malformed JSON at line 1, column 13: unexpected end of JSON input"},
		{"missing colon", `{"peername" "x"}`, "malformed JSON at line 1, column 13: "},
		{"second line", "{\n\"a\": x}", "malformed JSON at line 2, column 6: "},
		{"trailing text", `{"a":"b"} c`, "malformed JSON at line 1, column 11: "},
		{"array", `["peer0"]`, "expected a JSON object, found array"},
		{"string", `"peer0"`, "expected a JSON object, found string"},
		{"number", `7`, "expected a JSON object, found number"},
		{"null", `null`, "expected a JSON object, found null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, encode(t, obj("address", "{{.peername}}:1")), Options{Expander: template.Engine{}, Config: c.config})
			e := fieldError(t, err, "", c.want)
			assert.Equal(t, ConfigVariable, e.File, "the error names the variable, not connection.json")
			assert.Contains(t, e.Hint, "JSON object")
		})
	}
}

// CheckTemplates (packaging): templated fields are left alone, the rest is
// still validated.
func TestCheckTemplates(t *testing.T) {
	f := pki()
	opts := Options{Expander: template.Engine{}, Templates: CheckTemplates, SourceDir: t.TempDir()}
	t.Run("templated fields are kept and not validated", func(t *testing.T) {
		doc := obj("address", "{{.peername}}-cc", "dial_timeout", "{{.timeout}}", "tls_required", "{{.tls}}",
			"client_auth_required", "{{.auth}}", "root_cert_file", "{{.org}}/ca.pem", "client_key", "{{.key}}",
			"client_cert_file", "{{.org}}/client.pem", "domain", "{{.peername}}.example.com")
		info, warnings, err := parseDoc(t, encode(t, doc), opts)
		require.NoError(t, err)
		assert.Equal(t, "{{.peername}}-cc", info.Address)
		assert.Equal(t, "{{.peername}}.example.com", info.Domain)
		assert.Empty(t, warnings, "unknown booleans are neither true nor false")
	})
	t.Run("no variable is needed", func(t *testing.T) {
		_, _, err := parseDoc(t, encode(t, obj("address", "{{.peername}}:1")), Options{Expander: template.Engine{}, Templates: CheckTemplates, Config: "{broken"})
		require.NoError(t, err)
	})
	cases := []struct {
		name  string
		doc   map[string]any
		field string
		want  string
	}{
		{"template syntax", obj("address", "{{.peername"), "address", "malformed template"},
		{"literal dial_timeout", obj("address", "{{.peername}}:1", "dial_timeout", "-1s"), "dial_timeout", "above zero"},
		{"literal address", obj("address", "mycc", "domain", "{{.d}}"), "address", "expected host:port"},
		{"literal root_cert", with(mtlsDoc(), "address", "{{.a}}", "root_cert", "garbage"), "root_cert", "found no PEM block"},
		{"literal client_cert beside a templated key", with(mtlsDoc(), "client_key", "{{.key}}", "client_cert", f.expired.CertPEM),
			"client_cert", "expired on"},
		{"literal key beside a templated certificate", with(mtlsDoc(), "client_cert_file", "{{.org}}/c.pem", "client_cert", nil, "client_key", "junk"),
			"client_key", "no PEM block"},
		{"string boolean", obj("address", "{{.a}}", "tls_required", "yes"), "tls_required", `found the string "yes"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, encode(t, c.doc), opts)
			fieldError(t, err, c.field, c.want)
		})
	}
	t.Run("known false still warns", func(t *testing.T) {
		_, warnings, err := parseDoc(t, encode(t, obj("address", "{{.a}}", "tls_required", false, "client_auth_required", "{{.x}}", "domain", "d")), opts)
		require.NoError(t, err)
		warningFor(t, warnings, "domain")
	})
}

// LiteralValues (release): values are taken as written, never expanded again.
func TestLiteralValues(t *testing.T) {
	doc := obj("address", "mycc:9999", "root_cert", "{{.peername}}")
	info, _, err := parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}, Templates: LiteralValues, Config: peerConfig})
	require.NoError(t, err)
	assert.Equal(t, "{{.peername}}", info.RootCert)

	_, _, err = parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}, Templates: LiteralValues, Config: "{broken"})
	require.NoError(t, err, "the variable is not read at release")

	// The same document at build time expands.
	info, _, err = parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}, Config: peerConfig})
	require.NoError(t, err)
	assert.Equal(t, "peer0org1", info.RootCert)
}

func TestTemplatesThatCouldStallAreRefused(t *testing.T) {
	for _, tmpl := range []string{
		`{{range 1000000000}}{{end}}host:1`,
		`{{if .a}}{{range .a}}{{end}}{{end}}host:1`,
		`{{define "x"}}{{template "x"}}{{template "x"}}{{end}}{{template "x"}}host:1`,
		`{{block "b" .}}{{end}}host:1`,
	} {
		_, _, err := Parse([]byte(`{"address":`+strconv.Quote(tmpl)+`}`), Options{Expander: template.Engine{}, Config: `{"a":[1]}`})
		require.Error(t, err, tmpl)
		assert.Contains(t, err.Error(), "which is not allowed: a package must not be able to stall the peer's install", tmpl)
	}
	info, _, err := Parse([]byte(`{"address":"{{if .tls}}{{.host}}{{else}}plain{{end}}:{{.port}}"}`),
		Options{Expander: template.Engine{}, Config: `{"tls":true,"host":"cc","port":7052}`})
	require.NoError(t, err)
	assert.Equal(t, "cc:7052", info.Address)
}

// Without an Expander (release links none), a template is refused with a
// clear line, and literal values are read as before.
func TestNoExpander(t *testing.T) {
	doc := encode(t, obj("address", "{{.peername}}-cc:9999"))
	_, _, err := Parse(doc, Options{Config: `{"peername":"p"}`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection.json: address: holds a template, which this program cannot expand")
	info, _, err := Parse(encode(t, obj("address", "cc:9999")), Options{})
	require.NoError(t, err)
	assert.Equal(t, "cc:9999", info.Address)
}
