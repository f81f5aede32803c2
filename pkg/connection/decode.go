package connection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// Field names, in the order the peer's documentation lists them.
const (
	fieldAddress            = "address"
	fieldDomain             = "domain"
	fieldDialTimeout        = "dial_timeout"
	fieldTLSRequired        = "tls_required"
	fieldClientAuthRequired = "client_auth_required"
	fieldClientKey          = "client_key"
	fieldClientCert         = "client_cert"
	fieldRootCert           = "root_cert"
	fieldClientKeyFile      = "client_key_file"
	fieldClientCertFile     = "client_cert_file"
	fieldRootCertFile       = "root_cert_file"
)

// Fields lists every field connection.json may hold.
var Fields = []string{
	fieldAddress, fieldDomain, fieldDialTimeout, fieldTLSRequired, fieldClientAuthRequired,
	fieldClientKey, fieldClientCert, fieldRootCert,
	fieldClientKeyFile, fieldClientCertFile, fieldRootCertFile,
}

// pemFiles maps each inline PEM field to the field that may reference a file instead.
var pemFiles = map[string]string{
	fieldClientKey:  fieldClientKeyFile,
	fieldClientCert: fieldClientCertFile,
	fieldRootCert:   fieldRootCertFile,
}

type decoder struct {
	*report
	opts      Options
	config    map[string]any
	templated map[string]bool // fields left unexpanded (CheckTemplates), not validated
}

func (d *decoder) decode(fields []field) (*Info, error) {
	raw := map[string]json.RawMessage{}
	written := map[string]string{} // canonical name -> the spelling in the file
	var respelt, nulls []string
	for _, f := range fields {
		name := canonical(f.name)
		if name == "" {
			return nil, d.unknownField(f.name)
		}
		if prev, twice := written[name]; twice {
			return nil, d.fail(name, "keep one", "given twice, as %q and %q: the peer matches field names ignoring case and would silently use the last one", prev, f.name)
		}
		written[name] = f.name
		if f.name != name {
			respelt = append(respelt, fmt.Sprintf("%q as %s", f.name, name))
		}
		// The peer leaves a field it reads as null at its zero value, as if
		// absent; dial_timeout is the exception (see duration).
		if isNull(f.raw) && name != fieldDialTimeout {
			if name == fieldAddress {
				return nil, d.fail(fieldAddress, "set it to the chaincode server's host:port, e.g. \"mycc.example.com:9999\"",
					"expected host:port, found null (the peer reads null as absent and fails: chaincode address not provided)")
			}
			nulls = append(nulls, name)
			continue
		}
		raw[name] = f.raw
	}
	if len(respelt) > 0 {
		d.warn("", "", "field names written as the peer reads them, which is ignoring case: %s", strings.Join(respelt, ", "))
	}
	if len(nulls) > 0 {
		d.warn("", "", "null left out, as the peer reads it as absent: %s", strings.Join(nulls, ", "))
	}
	info := &Info{DialTimeout: DefaultDialTimeout}
	var err error
	if info.Address, err = d.text(raw, fieldAddress); err != nil {
		return nil, err
	}
	if _, ok := raw[fieldAddress]; !ok {
		return nil, d.fail(fieldAddress, "set it to the chaincode server's host:port, e.g. \"mycc.example.com:9999\"", "required field is missing")
	}
	if info.Domain, err = d.text(raw, fieldDomain); err != nil {
		return nil, err
	}
	if info.DialTimeout, err = d.duration(raw); err != nil {
		return nil, err
	}
	if info.TLSRequired, err = d.boolean(raw, fieldTLSRequired); err != nil {
		return nil, err
	}
	if info.ClientAuthRequired, err = d.boolean(raw, fieldClientAuthRequired); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		field string
		dst   *string
	}{{fieldClientKey, &info.ClientKey}, {fieldClientCert, &info.ClientCert}, {fieldRootCert, &info.RootCert}} {
		if *p.dst, err = d.pem(raw, p.field); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// FieldName returns the field of Fields that name stands for, matched as
// the peer's encoding/json matches it: exactly, or else ignoring case
// (Unicode simple folding, so "ADDRESS" and even "addreſſ" are address).
// It returns "" when name is no field.
func FieldName(name string) string { return canonical(name) }

func canonical(name string) string {
	if i := msg.FieldIndex(Fields, name); i >= 0 {
		return Fields[i]
	}
	return ""
}

func isNull(r json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(r), []byte("null")) }

func (d *decoder) unknownField(name string) error {
	hint := ""
	if near := nearest(name, Fields); near != "" {
		hint = fmt.Sprintf("did you mean %q?", near)
	}
	return d.fail(name, hint, "unknown field, which the peer would ignore; expected one of: %s", strings.Join(Fields, ", "))
}

// text returns a string field after template expansion; "" when absent.
func (d *decoder) text(raw map[string]json.RawMessage, name string) (string, error) {
	r, ok := raw[name]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		return "", d.fail(name, "", "expected a string, found %s", msg.JSONKind(r))
	}
	return d.expand(name, s)
}

func (d *decoder) boolean(raw map[string]json.RawMessage, name string) (bool, error) {
	r, ok := raw[name]
	if !ok {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(r, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		return false, d.fail(name, "", "expected true or false, found %s", msg.JSONKind(r))
	}
	v, err := d.expand(name, s)
	if err != nil {
		return false, err
	}
	if d.templated[name] {
		return false, nil
	}
	switch v {
	case "true", "false":
		if v == s {
			d.warn(name, "write it without quotes", "the string %q was written as the JSON boolean %s (the peer rejects a string here)", s, v)
		}
		return v == "true", nil
	}
	return false, d.fail(name, "", "expected true or false, found the string %s", msg.Quote(v))
}

func (d *decoder) duration(raw map[string]json.RawMessage) (time.Duration, error) {
	r, ok := raw[fieldDialTimeout]
	if !ok {
		return DefaultDialTimeout, nil
	}
	if isNull(r) {
		return 0, d.fail(fieldDialTimeout, "leave it out for the peer's default of 3s",
			"expected a duration string such as \"10s\", found null, which the peer fails to decode (invalid duration)")
	}
	var s string
	if err := json.Unmarshal(r, &s); err != nil {
		hint := ""
		if msg.JSONKind(r) == "a number" {
			hint = fmt.Sprintf("the peer reads a number as nanoseconds, so %s would be %s; write a duration string such as \"10s\"",
				msg.Shorten(string(bytes.TrimSpace(r)), 40), nanoseconds(r))
		}
		return 0, d.fail(fieldDialTimeout, hint, "expected a duration string such as \"10s\", found %s", msg.JSONKind(r))
	}
	v, err := d.expand(fieldDialTimeout, s)
	if err != nil || d.templated[fieldDialTimeout] {
		return DefaultDialTimeout, err
	}
	t, err := time.ParseDuration(v)
	if err != nil {
		return 0, d.fail(fieldDialTimeout, "use a Go duration such as \"10s\" or \"1m30s\"", "expected a duration, found %s", msg.Quote(v))
	}
	if t < 0 {
		return 0, d.fail(fieldDialTimeout, "leave it out for the peer's default of 3s",
			"expected a duration above zero, found %s, with which the peer would give up dialling at once", msg.Quote(v))
	}
	if t == 0 {
		// The peer replaces a zero dial timeout with its default.
		d.warn(fieldDialTimeout, "", "%s means the peer's default; written as %q", msg.Quote(v), DefaultDialTimeout.String())
		return DefaultDialTimeout, nil
	}
	return t, nil
}

func nanoseconds(r json.RawMessage) string {
	var n float64
	if json.Unmarshal(r, &n) != nil || n > float64(1<<62) || n < -float64(1<<62) {
		return "out of range"
	}
	return time.Duration(n).String()
}

// pem returns an inline PEM field or the contents of its *_file reference.
func (d *decoder) pem(raw map[string]json.RawMessage, name string) (string, error) {
	fileField := pemFiles[name]
	_, inline := raw[name]
	_, byFile := raw[fileField]
	if inline && byFile {
		return "", d.fail(name, "keep one of them", "both %s and %s are set", name, fileField)
	}
	if !byFile {
		v, err := d.text(raw, name)
		if err != nil || d.templated[name] {
			return "", err
		}
		return d.realNewlines(name, v), nil
	}
	rel, err := d.text(raw, fileField)
	if err != nil || d.templated[fileField] {
		return "", err
	}
	data, err := d.readReference(fileField, rel)
	if err != nil {
		return "", err
	}
	if !utf8Text(data) {
		return "", d.fail(fileField, "", "expected a PEM text file, found binary data in %s", msg.Quote(rel))
	}
	// Same treatment as inline text, so that the released (inline) form
	// decodes to the same value.
	return d.realNewlines(name, string(data)), nil
}

// realNewlines undoes a common hand-editing mistake: PEM pasted with the
// two characters \n in place of line breaks.
func (d *decoder) realNewlines(name, v string) string {
	if strings.HasPrefix(v, "-----BEGIN") && !strings.Contains(v, "\n") && strings.Contains(v, `\n`) {
		d.warn(name, "", "the PEM text held the characters \\n instead of line breaks; they were written as line breaks")
		return strings.ReplaceAll(v, `\n`, "\n")
	}
	return v
}

// readReference reads a file named relative to the package source folder,
// refusing anything that would leave it.
func (d *decoder) readReference(name, rel string) ([]byte, error) {
	if d.opts.SourceDir == "" {
		return nil, d.fail(name, "put the PEM text inline", "file references are not allowed here")
	}
	if rel == "" || !filepath.IsLocal(rel) {
		return nil, d.fail(name, "name a file inside the package, e.g. \"tls/ca.pem\"",
			"expected a path relative to the package source folder, found %s", msg.Quote(rel))
	}
	root, err := os.OpenRoot(d.opts.SourceDir)
	if err != nil {
		return nil, d.fail(name, "", "cannot open the package folder: %v", msg.Reason(err))
	}
	defer root.Close()
	data, err := regfile.ReadIn(root, rel, MaxSize)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, d.fail(name, "", "file %s not found in the package", msg.Quote(rel))
	case err != nil:
		return nil, d.fail(name, "", "%s: %v", msg.Quote(rel), err)
	}
	return data, nil
}

func utf8Text(data []byte) bool {
	return bytes.IndexByte(data, 0) < 0 && utf8.Valid(data)
}

// nearest returns the candidate within edit distance 2 of name, ignoring
// case (case alone never makes a typo: canonical matches it), if any.
func nearest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
