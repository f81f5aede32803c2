// Package launch is the logic of bin/run: it reads the chaincode.json the
// peer writes for a launch, gives the chaincode the files, variables and flag
// the Go, Node and Java shims read, starts the entry point build installed and
// supervises it until it ends (output, signals, exit status).
package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"github.com/extbuilder/extbuilder/internal/check"
	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// ChaincodeFile is the name of the file the peer writes into RUN_METADATA_DIR.
const ChaincodeFile = "chaincode.json"

// MaxChaincodeFileSize bounds what run reads: the peer's file holds one
// identifier, one address and three PEM blobs, a few KiB.
const MaxChaincodeFileSize = 1 << 20

// Error is a problem with one field of chaincode.json (or the file as a
// whole, or the executable).
type Error = msg.Error

// Chaincode is what the peer tells run about one launch.
type Chaincode struct {
	ID          string // chaincode_id: the package ID
	PeerAddress string // peer_address: host:port the chaincode dials
	ClientCert  string // client_cert: PEM, the chaincode's TLS client certificate
	ClientKey   string // client_key: PEM, its private key
	RootCert    string // root_cert: PEM CA(s) of the peer's chaincode endpoint
	MSPID       string // mspid: the peer's local MSP ID
}

// TLS reports whether the peer expects the chaincode to dial it with TLS:
// with peer TLS off, the three PEM fields are empty.
func (c *Chaincode) TLS() bool { return c.ClientCert != "" }

// fields are chaincode.json's fields, in the order the peer writes them.
var fields = []string{"chaincode_id", "peer_address", "client_cert", "client_key", "root_cert", "mspid"}

// ReadChaincode reads and checks dir/chaincode.json. The warnings name
// fields run does not know (a newer peer may add some); they are not errors
// because the peer itself ignores unknown fields.
func ReadChaincode(dir string) (*Chaincode, []string, error) {
	data, err := regfile.Read(filepath.Join(dir, ChaincodeFile), MaxChaincodeFileSize)
	if err != nil {
		return nil, nil, fileError(err)
	}
	return ParseChaincode(data)
}

func fileError(err error) error {
	hint := ""
	if errors.Is(err, fs.ErrNotExist) {
		hint = "run is called by the peer as: run BUILD_OUTPUT_DIR RUN_METADATA_DIR"
	}
	return &Error{File: ChaincodeFile, Problem: err.Error(), Hint: hint, Err: err}
}

// ParseChaincode decodes and checks the contents of chaincode.json.
func ParseChaincode(data []byte) (*Chaincode, []string, error) {
	fail := func(field, hint, format string, a ...any) error {
		return &Error{File: ChaincodeFile, Field: field, Problem: fmt.Sprintf(format, a...), Hint: hint}
	}
	// encoding/json turns invalid UTF-8 into U+FFFD without a word; a
	// chaincode_id read that way names a chaincode the peer never installed.
	if at := msg.InvalidUTF8At(data); at >= 0 {
		return nil, nil, fail("", "", "expected UTF-8 JSON, found invalid UTF-8 at byte %d", at)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, nil, fail("", "", "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
		case errors.As(err, &typ):
			return nil, nil, fail("", "", "expected a JSON object, found a JSON %s", typ.Value)
		default:
			return nil, nil, fail("", "", "malformed JSON: %s", err.Error())
		}
	}
	if raw == nil {
		return nil, nil, fail("", "", "expected a JSON object, found null")
	}

	values := map[string]string{}
	for _, name := range fields {
		v, ok := raw[name]
		if !ok {
			continue
		}
		var s string
		// Unmarshal takes null for a string; the peer never writes one.
		if err := json.Unmarshal(v, &s); err != nil || msg.JSONKind(v) != "a string" {
			return nil, nil, fail(name, "", "expected a JSON string, found %s", msg.JSONKind(v))
		}
		values[name] = s
	}
	var warnings []string
	var unknown []string
	for name := range raw {
		if !contains(fields, name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		warnings = append(warnings, fmt.Sprintf("%s: field %s is not known to this version of run and is ignored (known: %s)",
			ChaincodeFile, msg.Quote(name), strings.Join(fields, ", ")))
	}

	c := &Chaincode{
		ID:          values["chaincode_id"],
		PeerAddress: values["peer_address"],
		ClientCert:  values["client_cert"],
		ClientKey:   values["client_key"],
		RootCert:    values["root_cert"],
		MSPID:       values["mspid"],
	}
	if c.ID == "" {
		return nil, nil, fail("chaincode_id", "", "required, but %s", missingOrEmpty(raw, "chaincode_id"))
	}
	if strings.ContainsAny(c.ID, "\x00\n") {
		return nil, nil, fail("chaincode_id", "", "expected a package ID (label:hash), found a value with a control character")
	}
	if c.PeerAddress == "" {
		return nil, nil, fail("peer_address", "", "required, but %s", missingOrEmpty(raw, "peer_address"))
	}
	if f := check.Address(c.PeerAddress); f != nil {
		return nil, nil, fail("peer_address", f.Hint, "%s", f.Problem)
	}
	if err := checkTLS(c); err != nil {
		return nil, nil, err
	}
	return c, warnings, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func missingOrEmpty(raw map[string]json.RawMessage, name string) string {
	if _, ok := raw[name]; ok {
		return "empty"
	}
	return "missing"
}

// checkTLS checks the three PEM fields: all empty (peer TLS off) or all
// present, parsing, and the key matching the certificate.
func checkTLS(c *Chaincode) error {
	set := map[string]bool{"client_cert": c.ClientCert != "", "client_key": c.ClientKey != "", "root_cert": c.RootCert != ""}
	var present, absent []string
	for _, name := range []string{"client_cert", "client_key", "root_cert"} {
		if set[name] {
			present = append(present, name)
		} else {
			absent = append(absent, name)
		}
	}
	if len(present) == 0 {
		return nil
	}
	if len(absent) > 0 {
		return &Error{File: ChaincodeFile, Field: absent[0],
			Problem: fmt.Sprintf("empty while %s %s set; expected all of client_cert, client_key and root_cert (peer TLS on) or none (peer TLS off)",
				strings.Join(present, " and "), plural(len(present), "is", "are"))}
	}
	certs, f := check.Certificates(c.ClientCert)
	if f != nil {
		return fieldError("client_cert", f)
	}
	if _, f := check.Certificates(c.RootCert); f != nil {
		return fieldError("root_cert", f)
	}
	key, f := check.PrivateKey(c.ClientKey)
	if f != nil {
		return fieldError("client_key", f)
	}
	if !check.KeyMatches(key, certs[0]) {
		return &Error{File: ChaincodeFile, Field: "client_key",
			Problem: "does not match the public key of client_cert (the first certificate)"}
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func fieldError(field string, f *check.Finding) error {
	return &Error{File: ChaincodeFile, Field: field, Problem: f.Problem, Hint: f.Hint}
}
