package connection

import (
	"github.com/extbuilder/extbuilder/pkg/connection/template"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMinimalAndFull(t *testing.T) {
	info, warnings, err := parseDoc(t, encode(t, plainDoc()), Options{Expander: template.Engine{}})
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, &Info{Address: "mycc.example.com:9999", DialTimeout: DefaultDialTimeout}, info)

	f := pki()
	doc := with(mtlsDoc(), "domain", "mycc.internal", "dial_timeout", "10s")
	info, warnings, err = parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}})
	require.NoError(t, err)
	assert.Empty(t, warnings)
	assert.Equal(t, &Info{
		Address: "mycc.example.com:9999", Domain: "mycc.internal", DialTimeout: 10 * time.Second,
		TLSRequired: true, ClientAuthRequired: true,
		ClientKey: f.client.KeyPEM, ClientCert: f.client.CertPEM, RootCert: f.ca.CertPEM,
	}, info)
}

// Every field refuses the JSON types it cannot hold, naming the field and the type found.
func TestFieldTypes(t *testing.T) {
	stringFields := []string{"address", "domain", "client_key", "client_cert", "root_cert",
		"client_key_file", "client_cert_file", "root_cert_file"}
	wrong := map[string]raw{
		"a number": raw(`42`), "an object": raw(`{"a":1}`),
		"an array": raw(`["x"]`), "a boolean": raw(`true`),
	}
	for _, field := range stringFields {
		for kind, value := range wrong {
			t.Run(field+"/"+kind, func(t *testing.T) {
				_, _, err := parseDoc(t, encode(t, with(plainDoc(), field, value)), Options{Expander: template.Engine{}, SourceDir: t.TempDir()})
				fieldError(t, err, field, "expected a string, found "+kind)
			})
		}
	}
	for _, field := range []string{"tls_required", "client_auth_required"} {
		for kind, value := range wrong {
			if kind == "a boolean" {
				continue
			}
			t.Run(field+"/"+kind, func(t *testing.T) {
				_, _, err := parseDoc(t, encode(t, with(plainDoc(), field, value)), Options{Expander: template.Engine{}})
				fieldError(t, err, field, "expected true or false, found "+kind)
			})
		}
	}
	for kind, value := range wrong {
		if kind == "a number" {
			continue // TestDialTimeout: numbers and null get their own explanation
		}
		t.Run("dial_timeout/"+kind, func(t *testing.T) {
			_, _, err := parseDoc(t, encode(t, with(plainDoc(), "dial_timeout", value)), Options{Expander: template.Engine{}})
			fieldError(t, err, "dial_timeout", `expected a duration string such as "10s", found `+kind)
		})
	}
}

func TestBooleans(t *testing.T) {
	cases := []struct {
		value   any
		want    bool
		warns   bool
		refused string // fragment of the error; empty when accepted
	}{
		{value: true, want: true},
		{value: false, want: false},
		{value: "true", want: true, warns: true},
		{value: "false", want: false, warns: true},
		{value: "True", refused: `found the string "True"`},
		{value: "yes", refused: `found the string "yes"`},
		{value: "1", refused: `found the string "1"`},
		{value: "", refused: `found the string ""`},
		{value: " true", refused: `found the string " true"`},
	}
	for _, field := range []string{"tls_required", "client_auth_required"} {
		for _, c := range cases {
			t.Run(field+"/"+strings.TrimSpace(jsonText(t, c.value)), func(t *testing.T) {
				// Both booleans on is valid with mtlsDoc's material; vary one.
				info, warnings, err := parseDoc(t, encode(t, with(mtlsDoc(), field, c.value)), Options{Expander: template.Engine{}})
				if c.refused != "" {
					fieldError(t, err, field, "expected true or false", c.refused)
					return
				}
				require.NoError(t, err)
				got := info.TLSRequired
				if field == "client_auth_required" {
					got = info.ClientAuthRequired
				}
				assert.Equal(t, c.want, got)
				if !c.warns {
					assert.False(t, hasWarningFor(warnings, field), "%v", warnings)
					return
				}
				w := warningFor(t, warnings, field)
				assert.Contains(t, w.Problem, `the string "`+c.value.(string)+`"`)
				assert.Contains(t, w.Problem, "JSON boolean "+c.value.(string))
				assert.Contains(t, w.Hint, "without quotes")
				// The docs' example normalizes to what the peer decodes.
				assert.Contains(t, string(info.Marshal()), `"`+field+`": `+c.value.(string)+",")
			})
		}
	}
}

func jsonText(t *testing.T, v any) string { return string(encode(t, obj("v", v)))[5:] }

func TestDialTimeout(t *testing.T) {
	cases := []struct {
		name    string
		value   any // nil: field absent
		want    time.Duration
		refused []string
	}{
		{name: "absent is the peer default", want: 3 * time.Second},
		{name: "seconds", value: "10s", want: 10 * time.Second},
		{name: "compound", value: "1m30s", want: 90 * time.Second},
		{name: "milliseconds", value: "250ms", want: 250 * time.Millisecond},
		// ChaincodeServerUserData.ChaincodeServerInfo (core/container/
		// externalbuilder) replaces a zero dial timeout with 3s.
		{name: "zero", value: "0s", want: 3 * time.Second},
		{name: "bare zero", value: "0", want: 3 * time.Second},
		// A negative one is kept, and the dial's deadline has passed already.
		{name: "negative", value: "-1s", refused: []string{`above zero, found "-1s"`, "give up dialling at once"}},
		// Duration.UnmarshalJSON (core/container/externalbuilder) takes only
		// a number or a string: null fails the whole decode.
		{name: "null", value: raw(`null`), refused: []string{"found null", "fails to decode"}},
		{name: "no unit", value: "10", refused: []string{`expected a duration, found "10"`, `"1m30s"`}},
		{name: "words", value: "ten seconds", refused: []string{`expected a duration, found "ten seconds"`}},
		{name: "empty", value: "", refused: []string{`expected a duration, found ""`}},
		{name: "number", value: raw(`10`), refused: []string{"found a number", "nanoseconds", "10 would be 10ns", `"10s"`}},
		{name: "seconds as nanoseconds", value: raw(`10000000000`), refused: []string{"found a number", "would be 10s"}},
		{name: "fraction", value: raw(`1.5`), refused: []string{"found a number", "nanoseconds"}},
		{name: "negative number", value: raw(`-5`), refused: []string{"found a number", "would be -5ns"}},
		{name: "huge number", value: raw(`1e300`), refused: []string{"found a number", "out of range"}},
		{name: "long number", value: raw(strings.Repeat("9", 5000)), refused: []string{"found a number", "..."}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := plainDoc()
			if c.value != nil {
				doc = with(doc, "dial_timeout", c.value)
			}
			info, _, err := parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}})
			if c.refused != nil {
				e := fieldError(t, err, "dial_timeout", c.refused...)
				assert.Less(t, len(e.Error()), 1000, "messages stay short whatever the input")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, info.DialTimeout)
			assert.Contains(t, string(info.Marshal()), `"dial_timeout": "`+c.want.String()+`"`)
		})
	}
}

func TestUnknownFields(t *testing.T) {
	cases := []struct {
		name, field, hint string
	}{
		{"typo drops a letter", "tls_require", `did you mean "tls_required"?`},
		{"typo swaps letters", "adress", `did you mean "address"?`},
		{"typo and capitals", "Tls_Require", `did you mean "tls_required"?`},
		{"dash for underscore", "tls-required", `did you mean "tls_required"?`},
		{"file reference typo", "root_cert_fil", `did you mean "root_cert_file"?`},
		{"unrelated", "chaincode_id", ""},
		{"ccaas_builder era", "timeout", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, encode(t, with(mtlsDoc(), c.field, true)), Options{Expander: template.Engine{}})
			e := fieldError(t, err, c.field, "unknown field, which the peer would ignore; expected one of: "+strings.Join(Fields, ", "))
			assert.Equal(t, c.hint, e.Hint)
		})
	}
	t.Run("odd names stay on one line", func(t *testing.T) {
		_, _, err := parseDoc(t, []byte(`{"address":"h:1","tls\nrequired":true}`), Options{Expander: template.Engine{}})
		e := fieldError(t, err, "tls\nrequired", "unknown field")
		assert.Contains(t, e.Error(), `connection.json: "tls\nrequired": unknown field`)
	})
	t.Run("PEM as a name is not shown", func(t *testing.T) {
		_, _, err := parseDoc(t, encode(t, obj("address", "h:1", pki().client.KeyPEM, true)), Options{Expander: template.Engine{}})
		e := fieldError(t, err, pki().client.KeyPEM, "unknown field")
		assert.Contains(t, e.Error(), "not shown")
	})
	t.Run("Fields is exactly the peer's fields and the file references", func(t *testing.T) {
		assert.ElementsMatch(t, []string{"address", "domain", "dial_timeout", "tls_required", "client_auth_required",
			"client_key", "client_cert", "root_cert", "client_key_file", "client_cert_file", "root_cert_file"}, Fields)
	})
}

func TestDuplicateFields(t *testing.T) {
	cases := []struct{ name, doc, field string }{
		{"same value", `{"address":"a:1","address":"a:1"}`, "address"},
		{"different values", `{"address":"a:1","tls_required":false,"tls_required":true}`, "tls_required"},
		{"escaped spelling", `{"address":"a:1","addr\u0065ss":"b:2"}`, "address"},
		{"unknown twice", `{"address":"a:1","x":1,"x":2}`, "x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, []byte(c.doc), Options{Expander: template.Engine{}})
			e := fieldError(t, err, c.field, "field appears more than once; the peer would silently use the last one")
			assert.Equal(t, "keep one", e.Hint)
		})
	}
}

// The peer decodes connection.json with encoding/json into
// ChaincodeServerUserData (core/container/externalbuilder), which matches
// field names ignoring case: these spellings work at the peer, so they are
// accepted, written in the canonical spelling, with one warning line.
func TestFieldNamesIgnoreCase(t *testing.T) {
	f := pki()
	doc := obj("Address", "mycc.example.com:9999", "TLS_Required", true, "CLIENT_AUTH_REQUIRED", true,
		"Client_Key", f.client.KeyPEM, "client_Cert", f.client.CertPEM, "Root_Cert", f.ca.CertPEM,
		"Dial_Timeout", "10s", "DOMAIN", "mycc.internal")
	info, warnings, err := parseDoc(t, encode(t, doc), Options{Expander: template.Engine{}})
	require.NoError(t, err)
	assert.Equal(t, &Info{
		Address: "mycc.example.com:9999", Domain: "mycc.internal", DialTimeout: 10 * time.Second,
		TLSRequired: true, ClientAuthRequired: true,
		ClientKey: f.client.KeyPEM, ClientCert: f.client.CertPEM, RootCert: f.ca.CertPEM,
	}, info)
	require.Len(t, warnings, 1)
	w := warnings[0].String()
	assert.True(t, strings.HasPrefix(w, "connection.json: field names written as the peer reads them, which is ignoring case: "), w)
	for _, part := range []string{`"Address" as address`, `"TLS_Required" as tls_required`, `"CLIENT_AUTH_REQUIRED" as client_auth_required`,
		`"Client_Key" as client_key`, `"client_Cert" as client_cert`, `"Root_Cert" as root_cert`, `"Dial_Timeout" as dial_timeout`, `"DOMAIN" as domain`} {
		assert.Contains(t, w, part)
	}
	out := string(info.Marshal())
	assert.Contains(t, out, `"address": "mycc.example.com:9999"`)
	assert.NotContains(t, out, "Address")

	t.Run("Unicode folding as the peer folds", func(t *testing.T) {
		// encoding/json folds names as strings.EqualFold does: the long s
		// matches s.
		info, warnings, err := parseDoc(t, []byte(`{"addreſſ":"h:1"}`), Options{Expander: template.Engine{}})
		require.NoError(t, err)
		assert.Equal(t, "h:1", info.Address)
		assert.Len(t, warnings, 1)
	})
	t.Run("file references too", func(t *testing.T) {
		info, _, err := parseDoc(t, encode(t, obj("address", "h:1", "tls_required", true, "Root_Cert_File", "tls/ca.pem")), Options{Expander: template.Engine{}, SourceDir: packageDir(t)})
		require.NoError(t, err)
		assert.Equal(t, f.ca.CertPEM, info.RootCert)
	})
}

// Two spellings of one field: the peer keeps the last one it reads, and a
// reader of the file cannot tell which that is.
func TestFieldGivenTwiceInTwoSpellings(t *testing.T) {
	for _, doc := range []string{
		`{"address":"a:1","Address":"b:2"}`,
		`{"tls_required":true,"address":"a:1","TLS_REQUIRED":false}`,
	} {
		_, _, err := parseDoc(t, []byte(doc), Options{Expander: template.Engine{}})
		require.Error(t, err, doc)
		assert.Contains(t, err.Error(), "given twice, as ")
		assert.Contains(t, err.Error(), "would silently use the last one")
	}
}

// encoding/json leaves a field it reads as null untouched, so for the
// peer null is absent, except in dial_timeout (TestDialTimeout).
func TestNullIsAbsent(t *testing.T) {
	info, warnings, err := parseDoc(t, []byte(`{"address":"h:1","tls_required":null,"client_auth_required":null,"domain":null,"root_cert":null,"client_key_file":null}`), Options{Expander: template.Engine{}})
	require.NoError(t, err)
	assert.Equal(t, &Info{Address: "h:1", DialTimeout: DefaultDialTimeout}, info)
	require.Len(t, warnings, 1)
	assert.Equal(t, "connection.json: null left out, as the peer reads it as absent: tls_required, client_auth_required, domain, root_cert, client_key_file", warnings[0].String())

	_, _, err = parseDoc(t, []byte(`{"address":null}`), Options{Expander: template.Engine{}})
	fieldError(t, err, "address", "found null", "chaincode address not provided")
}

func TestMalformedFile(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"missing colon", `{"address" "h:1"}`, "malformed JSON at line 1, column 12: "},
		{"bad literal on line 3", "{\n  \"address\": \"h:1\",\n  \"tls_required\": tru\n}", "malformed JSON at line 3, column 22: invalid character '\\n' in literal true"},
		{"trailing comma", `{"address":"h:1",}`, "malformed JSON at line 1, column 18: "},
		{"columns count characters", `{"domain": "é", x}`, "malformed JSON at line 1, column 17: "},
		{"line break in a string", "{\"address\": \"h:1\n\"}", "malformed JSON at line 1, column 17: invalid character '\\n' in string literal"},
		{"single quotes", `{'address': 'h:1'}`, "malformed JSON at line 1, column 2: "},
		{"comment", "{\n// peer0\n\"address\":\"h:1\"}", "malformed JSON at line 2, column 1: "},
		{"truncated", `{"address":`, "malformed JSON: unexpected end of file at line 1, column 12"},
		{"truncated after newline", "{\"address\":\"h:1\",\n", "malformed JSON: unexpected end of file at line 2, column 1"},
		{"empty", ``, "expected a JSON object, found an empty file"},
		{"blank", " \n\t", "expected a JSON object, found an empty file"},
		{"byte order mark", "\uFEFF{\"address\":\"h:1\"}", "found a byte order mark"},
		{"invalid UTF-8", "{\"address\":\"h\xff:1\"}", "expected UTF-8 JSON, found invalid UTF-8 at byte 13"},
		{"latin-1", "{\"domain\":\"caf\xe9\"}", "invalid UTF-8 at byte 14"},
		{"trailing text", `{"address":"h:1"} x`, "expected one JSON object, found more data after it at line 1, column 19"},
		{"two objects", "{\"address\":\"h:1\"}\n{\"address\":\"h:2\"}", "found more data after it at line 2, column 1"},
		{"extra brace", `{"address":"h:1"}}`, "found more data after it at line 1, column 18"},
		{"array", `[{"address":"h:1"}]`, "expected a JSON object, found an array"},
		{"string", `"h:1"`, "expected a JSON object, found a string"},
		{"number", `9999`, "expected a JSON object, found a number"},
		{"null", `null`, "expected a JSON object, found null"},
		{"boolean", `true`, "expected a JSON object, found a boolean"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parseDoc(t, []byte(c.doc), Options{Expander: template.Engine{}})
			e := fieldError(t, err, "", c.want)
			assert.True(t, strings.HasPrefix(e.Error(), "connection.json: "), e.Error())
		})
	}
	t.Run("trailing whitespace is fine", func(t *testing.T) {
		_, _, err := parseDoc(t, []byte("{\"address\":\"h:1\"}\n\n  \t"), Options{Expander: template.Engine{}})
		require.NoError(t, err)
	})
	t.Run("File names the file", func(t *testing.T) {
		_, _, err := parseDoc(t, []byte(`[]`), Options{Expander: template.Engine{}, File: "BUILD_OUTPUT_DIR/connection.json"})
		assert.Equal(t, "BUILD_OUTPUT_DIR/connection.json: expected a JSON object, found an array", err.Error())
	})
}

func TestMissingAddress(t *testing.T) {
	_, _, err := parseDoc(t, []byte(`{"tls_required": false}`), Options{Expander: template.Engine{}})
	e := fieldError(t, err, "address", "required field is missing")
	assert.Contains(t, e.Hint, "host:port")
}

// Error renders as the project's one-line form.
func TestErrorString(t *testing.T) {
	e := &Error{File: "connection.json", Field: "tls_required", Problem: "expected true or false, found the string \"yes\"", Hint: "write true"}
	assert.Equal(t, `connection.json: tls_required: expected true or false, found the string "yes"; hint: write true`, e.Error())
	e = &Error{File: "connection.json", Problem: "expected a JSON object, found null"}
	assert.Equal(t, "connection.json: expected a JSON object, found null", e.Error())
	w := Warning{File: "connection.json", Field: "domain", Problem: "ignored"}
	assert.Equal(t, "connection.json: domain: ignored", w.String())
}
