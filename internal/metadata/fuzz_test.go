package metadata

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// maxMessage bounds an error line. The peer's stderr reader gives up on a
// line over 64 KiB; a line this long is unreadable in a log long before.
const maxMessage = 512

// FuzzParse feeds metadata.json parsing anything a package could carry.
// Invariants: no panic; errors are *Error values giving one short line that
// starts with "metadata.json: "; a success reads the same type, label and
// path as Go's own JSON decoder (the peer's) does for a document without
// duplicate keys; claiming a parsed document gives a short line too.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"ccaas","label":"mycc_1.0"}`,
		`{"type":"external","label":"basic_1.0","path":""}`,
		`{"type":"BINARY","label":"asset","path":"bin/asset"}`,
		`{"path":"","type":"golang","label":"fabcar_1"}`,
		"{\n  \"type\": \"ccaas\",\n  \"label\": \"x\"\n}\n",
		`{"type":"ccaas","type":"golang"}`,
		`{"typ\u0065":"ccaas"}`,
		`{"type":"cc\u0061as"}`,
		`{"type":"\u00ad\u00ad\u00ad"}`,
		`{"type":"ccaas","nested":{"type":"golang"}}`,
		`{"nested":{"type":"ccaas"}}`,
		`{"type":"ccaas","label":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`,
		`{"type":"ccaas"} {"type":"golang"}`,
		`{"type":"ccaas"}garbage`,
		"\uFEFF{\"type\":\"ccaas\"}",
		`{"type":"cc` + "\x00" + `as"}`,
		`{"type":"ccaas\u0000"}`,
		`{"type":"\ud800"}`,
		`{"type":7}`, `{"type":null}`, `{"type":["ccaas"]}`, `{"type":{"ccaas":true}}`,
		`[]`, `"ccaas"`, `null`, ``, `{`, `{"type":`, `{"type":"ccaas"`, `{"a":1,}`,
		`{"Type":"ccaas"}`, `{"TYPE":"binary","Path":"x"}`, `{"type":"ccaas","Type":"golang"}`, `{"type":"ccaas","label":null}`,
		`{"type":"*"}`, `{"type":"c?aas"}`, `{"t*":"ccaas"}`, `{"type.x":"ccaas"}`, `{"#":"ccaas"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			checkMessage(t, err.Error())
			if m != (Metadata{}) {
				t.Fatalf("Metadata %#v returned with an error", m)
			}
			if utf8.Valid(data) && json.Valid(data) && topLevelObject(data) {
				want, dup := decodeLikeThePeer(t, data)
				if !dup && want.typ != nil && want.typ.isString && stringOrAbsent(want.label) && stringOrAbsent(want.path) {
					t.Fatalf("refused a document Go's decoder reads fine: %v", err)
				}
			}
			return
		}
		if !utf8.Valid(data) || !json.Valid(data) {
			t.Fatalf("accepted a document Go's decoder refuses: %q", data)
		}
		want, dup := decodeLikeThePeer(t, data)
		if !dup {
			for _, c := range []struct {
				name string
				got  string
				want *field
			}{{"type", m.Type, want.typ}, {"label", m.Label, want.label}, {"path", m.Path, want.path}} {
				w := ""
				if c.want != nil {
					w = c.want.str
				}
				if c.got != w {
					t.Fatalf("%s: read %q, Go's decoder reads %q", c.name, c.got, w)
				}
			}
		}
		if err := CheckType(m); err != nil {
			if m.Mode() != Unhandled && m.Mode() != Kubernetes {
				t.Fatalf("type %q has a mode but is not claimed: %v", m.Type, err)
			}
			checkMessage(t, err.Error())
		} else if m.Mode() == Unhandled || m.Mode() == Kubernetes {
			t.Fatalf("type %q claimed by the main builder, whose mode is %v", m.Type, m.Mode())
		}
		if err := CheckLabel(m.Label); err != nil {
			checkMessage(t, err.Error())
		}
	})
}

func checkMessage(t *testing.T, msg string) {
	t.Helper()
	if !strings.HasPrefix(msg, File+": ") {
		t.Fatalf("message does not name %s: %q", File, msg)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("message is not one line: %q", msg)
	}
	if len(msg) > maxMessage {
		t.Fatalf("message is %d bytes long, want at most %d: %.200q...", len(msg), maxMessage, msg)
	}
	if !utf8.ValidString(msg) {
		t.Fatalf("message is not valid UTF-8: %q", msg)
	}
}

type field struct {
	isString bool
	str      string
}

type peerFields struct{ typ, label, path *field }

// decodeLikeThePeer reads the document with encoding/json into the peer's
// fields (type, label, path: persistence.ChaincodePackageMetadata), which
// matches names ignoring case and leaves null absent. A field that is not a
// string fails the peer's decode: isString false. It also reports whether
// one of the fields occurs twice, in any spelling: gjson keeps the first,
// encoding/json the last, and Parse refuses such documents.
func decodeLikeThePeer(t *testing.T, data []byte) (peerFields, bool) {
	t.Helper()
	var out peerFields
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object for encoding/json: %v %v", tok, err)
	}
	seen := map[string]bool{}
	dup := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		// Decode this one member as the peer decodes the file.
		member, _ := json.Marshal(map[string]json.RawMessage{tok.(string): raw})
		var peer struct {
			Type  *string `json:"type"`
			Label *string `json:"label"`
			Path  *string `json:"path"`
		}
		err = json.Unmarshal(member, &peer)
		for _, f := range []struct {
			name string
			got  *string
			dst  **field
		}{{"type", peer.Type, &out.typ}, {"label", peer.Label, &out.label}, {"path", peer.Path, &out.path}} {
			if !strings.EqualFold(f.name, tok.(string)) {
				continue
			}
			dup = dup || seen[f.name]
			seen[f.name] = true
			switch {
			case err != nil:
				*f.dst = &field{}
			case f.got != nil:
				*f.dst = &field{isString: true, str: *f.got}
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("encoding/json: trailing data after the object: %v", err)
	}
	return out, dup
}

func stringOrAbsent(f *field) bool { return f == nil || f.isString }

func topLevelObject(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("{"))
}
