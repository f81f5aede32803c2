// Package connection is the one implementation of connection.json: it reads
// what operators write, expands ccaas_builder-style templates, validates the
// result as the peer will use it, and writes the form the peer decodes.
package connection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// File is connection.json's name: in a package's code.tar.gz and in
// BUILD_OUTPUT_DIR.
const File = "connection.json"

// ConfigVariable holds the JSON object that templates are executed against.
const ConfigVariable = "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"

// MaxSize bounds connection.json and the files it references: real ones are
// a few KiB, and the builder runs inside the peer's install path.
const MaxSize = 1 << 20

// DefaultDialTimeout is what the peer uses when dial_timeout is absent or 0.
const DefaultDialTimeout = 3 * time.Second

// Info is connection.json as the peer decodes it.
type Info struct {
	Address            string
	Domain             string
	DialTimeout        time.Duration
	TLSRequired        bool
	ClientAuthRequired bool
	ClientKey          string
	ClientCert         string
	RootCert           string
}

// TemplateMode says what to do with Go templates in string values.
type TemplateMode int

const (
	// ExpandTemplates executes them against Options.Config (build time).
	ExpandTemplates TemplateMode = iota
	// CheckTemplates only parses them; a field holding a template is not
	// validated further (packaging, where the peer's values are unknown).
	CheckTemplates
	// LiteralValues takes every value as written (release time: build
	// already expanded the templates, and expanding twice would be wrong).
	LiteralValues
)

// Options tell Parse where the file came from and how to treat it.
type Options struct {
	File      string       // name used in messages; "connection.json" when empty
	SourceDir string       // folder that *_file references are relative to; empty refuses them
	Templates TemplateMode // see TemplateMode
	Config    string       // value of CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG; empty when unset
	Expander  Expander     // runs templates (template.Engine{}); needed unless Templates is LiteralValues
	Now       time.Time    // when certificates must be valid; time.Now() when zero
}

// Load reads the file at path (at most MaxSize bytes) and parses it.
func Load(path string, opts Options) (*Info, []Warning, error) {
	r := &report{file: opts.fileName()}
	data, err := readLimited(path, r, "")
	if err != nil {
		return nil, nil, err
	}
	return Parse(data, opts)
}

// Parse decodes, templates and validates connection.json. Warnings are
// returned even when err is nil; on error Info is nil.
func Parse(data []byte, opts Options) (*Info, []Warning, error) {
	r := &report{file: opts.fileName()}
	fields, err := decodeObject(data, r)
	if err != nil {
		return nil, r.warnings, err
	}
	d := &decoder{report: r, opts: opts, templated: map[string]bool{}}
	if opts.Templates == ExpandTemplates {
		if d.config, err = parseConfig(opts.Config, r); err != nil {
			return nil, r.warnings, err
		}
	}
	info, err := d.decode(fields)
	if err != nil {
		return nil, r.warnings, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if err := info.validate(r, now, d.templated); err != nil {
		return nil, r.warnings, err
	}
	return info, r.warnings, nil
}

func (o Options) fileName() string {
	if o.File == "" {
		return File
	}
	return o.File
}

// Marshal writes the form the peer decodes: JSON booleans, dial_timeout as a
// duration string, PEM with real newlines, empty optional fields left out.
func (i *Info) Marshal() []byte {
	out := struct {
		Address            string `json:"address"`
		Domain             string `json:"domain,omitempty"`
		DialTimeout        string `json:"dial_timeout"`
		TLSRequired        bool   `json:"tls_required"`
		ClientAuthRequired bool   `json:"client_auth_required"`
		ClientKey          string `json:"client_key,omitempty"`
		ClientCert         string `json:"client_cert,omitempty"`
		RootCert           string `json:"root_cert,omitempty"`
	}{i.Address, i.Domain, i.DialTimeout.String(), i.TLSRequired, i.ClientAuthRequired, i.ClientKey, i.ClientCert, i.RootCert}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		panic(err) // strings and booleans always encode
	}
	return buf.Bytes()
}

// readLimited reads a regular file of at most MaxSize bytes, refusing a
// link (it could lead out of the folder the peer gave us) and a named pipe
// (it would hang the install): see regfile.
func readLimited(path string, r *report, field string) ([]byte, error) {
	data, err := regfile.Read(path, MaxSize)
	if err != nil {
		return nil, r.fail(field, "", "%v", err)
	}
	return data, nil
}

// decodeObject splits the top-level JSON object into raw fields, refusing
// anything but one object with unique keys.
func decodeObject(data []byte, r *report) ([]field, error) {
	if !utf8.Valid(data) {
		return nil, r.fail("", "", "expected UTF-8 JSON, found invalid UTF-8 at byte %d", msg.InvalidUTF8At(data))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, r.fail("", "", "expected a JSON object, found an empty file")
	}
	if bytes.HasPrefix(data, []byte("\uFEFF")) {
		return nil, r.fail("", "save the file as UTF-8 without a byte order mark (the peer refuses it too)",
			"expected JSON, found a byte order mark at the start")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(r, data, err)
	}
	if tok != json.Delim('{') {
		return nil, r.fail("", "", "expected a JSON object, found %s", msg.JSONKind(data))
	}
	var fields []field
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(r, data, err)
		}
		name := tok.(string) // object keys are always strings
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxError(r, data, err)
		}
		if seen[name] {
			return nil, r.fail(name, "keep one", "field appears more than once; the peer would silently use the last one")
		}
		seen[name] = true
		fields = append(fields, field{name, raw})
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxError(r, data, err)
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, r.fail("", "", "expected one JSON object, found more data after it at %s", position(data, int64(len(data)-len(rest))))
	}
	return fields, nil
}

type field struct {
	name string
	raw  json.RawMessage
}

// syntaxError reports where the JSON goes wrong. The streaming decoder's
// offsets are relative to the value it was reading, so the whole document is
// checked again for an offset that people can use.
func syntaxError(r *report, data []byte, err error) error {
	var se *json.SyntaxError
	if checkErr := json.Unmarshal(data, new(json.RawMessage)); errors.As(checkErr, &se) {
		err = se
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || se != nil && atEnd(se) {
		return r.fail("", "", "malformed JSON: unexpected end of file at %s", position(data, int64(len(data))))
	}
	offset := int64(0)
	if se != nil {
		offset = syntaxOffset(se)
	}
	return r.fail("", "", "malformed JSON at %s: %s", position(data, offset), msg.Safe(strings.TrimPrefix(err.Error(), "json: ")))
}

func atEnd(se *json.SyntaxError) bool { return se.Error() == "unexpected end of JSON input" }

// syntaxOffset is where json.Unmarshal's error points: its Offset counts the
// offending byte, except at the end of the input.
func syntaxOffset(se *json.SyntaxError) int64 {
	if atEnd(se) || se.Offset == 0 {
		return se.Offset
	}
	return se.Offset - 1
}

// position turns a byte offset into "line L, column C" for people.
func position(data []byte, offset int64) string {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	line, col := 1, 1
	for _, b := range data[:offset] {
		if b == '\n' {
			line, col = line+1, 1
		} else if utf8.RuneStart(b) {
			col++ // columns count characters, as editors do
		}
	}
	return fmt.Sprintf("line %d, column %d", line, col)
}
