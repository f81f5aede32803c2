// Package metadata reads the package's metadata.json and decides which of
// extbuilder's modes, if any, handles it. It is on detect's path, which runs
// for every package a peer installs, so it stays small and cheap.
package metadata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// File is the name of the metadata file in METADATA_DIR and in the package.
const File = "metadata.json"

// MaxSize bounds metadata.json: a real one is under a hundred bytes.
const MaxSize = 64 << 10

// Mode is how a chaincode is started.
type Mode int

const (
	// Unhandled packages belong to another builder.
	Unhandled Mode = iota
	// Service packages carry connection.json: the peer dials the chaincode.
	Service
	// Binary packages carry an executable that bin/run starts.
	Binary
	// Kubernetes packages carry image.json: the Kubernetes builder's run
	// starts the image as a pod. That builder is a folder of its own
	// (cmd/k8s), so the main builder's detect leaves them to it.
	Kubernetes
)

// types maps each metadata type extbuilder knows, lower case, to its mode.
var types = map[string]Mode{"ccaas": Service, "external": Service, "binary": Binary, "k8s": Kubernetes}

// HandledTypes lists the types the main builder claims, for messages.
const HandledTypes = "ccaas, external, binary"

// KubernetesType is the type the Kubernetes builder claims, as
// fabric-builder-k8s names it.
const KubernetesType = "k8s"

// Metadata is the part of metadata.json the builder uses.
type Metadata struct {
	Type  string
	Label string
	Path  string
	// Respelt lists the field names written in another case, such as
	// `"Type" as type`; "" when none. See Warning.
	Respelt string
}

// Mode returns how the package is handled; types compare case-insensitively.
func (m Metadata) Mode() Mode {
	return types[strings.ToLower(m.Type)]
}

// Error is a problem with metadata.json: a *msg.Error naming File.
type Error = msg.Error

func fail(field, problem string) error {
	return &Error{File: File, Field: field, Problem: problem}
}

// Read reads dir/metadata.json: a regular file of at most MaxSize bytes,
// read with a handful of system calls (see regfile.Read).
func Read(dir string) (Metadata, error) {
	data, err := regfile.Read(filepath.Join(dir, File), MaxSize)
	if errors.Is(err, os.ErrNotExist) {
		return Metadata{}, fail("", "file not found in the metadata folder")
	}
	if err != nil {
		return Metadata{}, fail("", err.Error())
	}
	return Parse(data)
}

// Parse decodes metadata.json as the peer does (persistence.
// ChaincodePackageParser, with encoding/json): field names match ignoring
// case, null is absent, other fields are ignored. Only type is required
// here: the peer has already checked the label at install time. A field
// given twice is refused: the peer would take the last, gjson the first.
func Parse(data []byte) (Metadata, error) {
	if !utf8.Valid(data) {
		return Metadata{}, fail("", "expected UTF-8 JSON, found invalid UTF-8")
	}
	if !gjson.ValidBytes(data) {
		return Metadata{}, fail("", "expected JSON, found malformed JSON")
	}
	doc := gjson.ParseBytes(data)
	if !doc.IsObject() {
		return Metadata{}, fail("", "expected a JSON object, found "+msg.JSONKind(doc.Raw))
	}
	var m Metadata
	var err error
	var written [3]string // each field's name as the file spells it
	var respelt []string
	nullType := false
	doc.ForEach(func(k, v gjson.Result) bool {
		i := fieldIndex(k.Str)
		if i < 0 {
			return true
		}
		name := fieldNames[i]
		if written[i] != "" {
			err = fail(name, fmt.Sprintf("given twice, as %s and %s: the peer would silently use the last one", msg.Quote(written[i]), msg.Quote(k.Str)))
			return false
		}
		written[i] = k.Str
		if k.Str != name {
			respelt = append(respelt, msg.Quote(k.Str)+" as "+name)
		}
		switch v.Type {
		case gjson.Null: // absent, as the peer reads it
			nullType = nullType || i == 0
		case gjson.String:
			*[]*string{&m.Type, &m.Label, &m.Path}[i] = v.Str
		default:
			err = fail(name, "expected a string, found "+msg.JSONKind(v.Raw))
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return Metadata{}, err
	case written[0] == "":
		return Metadata{}, fail("type", "required field is missing")
	case nullType:
		return Metadata{}, fail("type", "expected a string, found null, which the peer reads as no type")
	}
	if respelt != nil {
		m.Respelt = strings.Join(respelt, ", ")
	}
	return m, nil
}

// fieldNames are the fields of metadata.json, in Parse's order.
var fieldNames = [3]string{"type", "label", "path"}

// fieldIndex finds name in fieldNames as encoding/json would: exactly, or
// else ignoring case. -1 when it is none of them.
func fieldIndex(name string) int { return msg.FieldIndex(fieldNames[:], name) }

// Warning is the line to print when the file spells field names in
// another case; "" when it does not.
func (m Metadata) Warning() string {
	if m.Respelt == "" {
		return ""
	}
	return File + ": field names read ignoring case, as the peer reads them: " + m.Respelt
}

// CheckLabel applies the peer's label rule, ^[[:alnum:]][[:alnum:]_.+-]*$,
// by hand: detect's start-up should not pay for compiling a regexp.
func CheckLabel(label string) error {
	for i, c := range []byte(label) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("_.+-", rune(c))) {
			return fail("label", "expected ASCII letters, digits and _.+- starting with a letter or digit, found "+msg.Quote(label))
		}
	}
	if label == "" {
		return fail("label", "expected a label, found an empty string")
	}
	return nil
}

// Claim reads dir/metadata.json and returns it when extbuilder handles its
// type; otherwise the error says which type was found and which are handled.
func Claim(dir string) (Metadata, error) {
	m, err := Read(dir)
	if err != nil {
		return m, err
	}
	return m, CheckType(m)
}

// CheckType is Claim's decision on a parsed metadata.json: nil when
// extbuilder's main builder handles its type. Type k8s is left to the
// Kubernetes builder (ClaimKubernetes).
func CheckType(m Metadata) error {
	switch m.Mode() {
	case Unhandled:
		return fail("type", fmt.Sprintf("%s is not handled by extbuilder (handled: %s)", msg.Quote(m.Type), HandledTypes))
	case Kubernetes:
		return fail("type", fmt.Sprintf("%s is left to extbuilder's Kubernetes builder (handled here: %s)", msg.Quote(m.Type), HandledTypes))
	}
	return nil
}

// ClaimKubernetes is Claim for the Kubernetes builder: it claims type k8s
// only.
func ClaimKubernetes(dir string) (Metadata, error) {
	m, err := Read(dir)
	if err != nil {
		return m, err
	}
	if m.Mode() != Kubernetes {
		return m, fail("type", fmt.Sprintf("%s is not handled by extbuilder's Kubernetes builder (handled: %s)", msg.Quote(m.Type), KubernetesType))
	}
	return m, nil
}
