package msg

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

// keyPEM is a key as it is pasted: the PEM of a private key, made for the
// test (no key is kept in the repository).
var keyPEM = testpki.NewCA("msg").Client("c").KeyPEM

func TestError(t *testing.T) {
	e := &Error{File: "connection.json", Field: "address", Problem: "expected host:port, found \"x\"", Hint: "write host:port"}
	assert.EqualError(t, e, `connection.json: address: expected host:port, found "x"; hint: write host:port`)
	assert.EqualError(t, &Error{File: "metadata.json", Problem: "file not found"}, "metadata.json: file not found")
	// An odd field name (a file may use anything as a key) is quoted, so
	// it cannot carry key material either.
	assert.EqualError(t, &Error{File: "c.json", Field: "a\tb", Problem: "unknown field"}, `c.json: "a\tb": unknown field`)
	assert.EqualError(t, &Error{Line: 3, Field: "chaincode.externalBuilders entry 1", Problem: "found name twice"},
		"line 3: chaincode.externalBuilders entry 1: found name twice", "no file: the caller names it")
	assert.EqualError(t, &Error{File: "c.json", Field: keyPEM, Problem: "unknown field"}, fmt.Sprintf("c.json: PEM text (%d bytes, not shown): unknown field", len(keyPEM)))
	assert.True(t, errors.Is(&Error{File: "f", Err: fs.ErrNotExist}, fs.ErrNotExist))
	assert.EqualError(t, Errorf("f", "x", "h", "found %d", 3), "f: x: found 3; hint: h")
}

func TestQuote(t *testing.T) {
	assert.Equal(t, `"ccaas"`, Quote("ccaas"))
	assert.Equal(t, `"a\nb"`, Quote("a\nb"))
	long := Quote(strings.Repeat("é", 100))
	assert.Equal(t, `"`+strings.Repeat("é", 40)+`..." (200 bytes)`, long)
	assert.Equal(t, `"`+strings.Repeat("x", 80)+`"`, Quote(strings.Repeat("x", 80)))
	assert.Equal(t, `"`+strings.Repeat("x", 80)+`..." (81 bytes)`, Quote(strings.Repeat("x", 81)))
}

// TestQuoteHidesKeys: whatever field a key hides in, Quote and Safe show
// none of it: no header, no base64 of its body, however it is cut or cased.
func TestQuoteHidesKeys(t *testing.T) {
	body := strings.Join(strings.Split(keyPEM, "\n")[1:3], "")
	for name, v := range map[string]string{
		"the whole PEM":                keyPEM,
		"PEM after a label":            "mycc_1.0" + keyPEM,
		"PEM past the cut":             strings.Repeat("a", 200) + keyPEM,
		"the header alone":             "-----BEGIN PRIVATE KEY-----",
		"a certificate header":         "-----BEGIN CERTIFICATE-----",
		"an END line":                  "x-----END EC PRIVATE KEY-----",
		"lower case":                   "-----begin private key-----",
		"the words":                    "my private key",
		"the body without header":      body,
		"the body with escaped breaks": strings.ReplaceAll(keyPEM[28:], "\n", `\n`),
		"base64 of the PEM":            base64.StdEncoding.EncodeToString([]byte(keyPEM)),
	} {
		q := Quote(v)
		assert.Contains(t, q, "not shown", name)
		assert.NotContains(t, q, "BEGIN", name)
		assert.NotContains(t, q, body[:24], name)
		assert.NotContains(t, Safe("error: "+v), "BEGIN", name)
		assert.NotContains(t, Safe("error: "+v), body[:24], name)
	}
	// What is not key material stays visible: a package ID's hex hash,
	// a long label, a path, a URL, the word KEY alone.
	for _, v := range []string{
		"mycc_1.0:" + strings.Repeat("0123456789abcdef", 4),
		strings.Repeat("Label_1.0-", 8),
		"/var/hyperledger/production/externalbuilder/builds/mycc/bld/chaincode",
		"grpcs://peer0.org1.example.com:7052",
		"client_key", "----- not a header",
	} {
		assert.NotContains(t, Quote(v), "not shown", v)
	}
}

func TestName(t *testing.T) {
	assert.Equal(t, "client_key", Name("client_key"))
	assert.Equal(t, "META-INF/statedb/couchdb/indexes/a.json", Name("META-INF/statedb/couchdb/indexes/a.json"))
	assert.Equal(t, "a b", Name("a b"))
	assert.Equal(t, `" a"`, Name(" a"))
	assert.Equal(t, `"a  b"`, Name("a  b"))
	assert.Equal(t, `"a\nb"`, Name("a\nb"))
	assert.Equal(t, `""`, Name(""))
	assert.Contains(t, Name(keyPEM), "not shown")
}

func TestSafe(t *testing.T) {
	assert.Equal(t, `line one\nline two`, Safe("line one\nline two"))
	assert.Equal(t, strings.Repeat("x", 200)+"...", Safe(strings.Repeat("x", 300)))
}

func TestJSONKind(t *testing.T) {
	for raw, want := range map[string]string{
		`{"a":1}`: "an object", ` [1]`: "an array", `"s"`: "a string", `true`: "a boolean",
		`false`: "a boolean", `null`: "null", `-1.5`: "a number", `7`: "a number", ``: "nothing", " \n": "nothing",
	} {
		assert.Equal(t, want, JSONKind(raw), raw)
		assert.Equal(t, want, JSONKind([]byte(raw)), raw)
	}
}

func TestReason(t *testing.T) {
	_, err := os.Open(filepath.Join(t.TempDir(), "missing"))
	assert.EqualError(t, Reason(err), "no such file or directory")
	err = os.Rename(filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"))
	assert.EqualError(t, Reason(err), "no such file or directory")
	other := errors.New("disk on fire")
	assert.Equal(t, other, Reason(other))
	assert.True(t, errors.Is(Reason(&fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOSPC}), syscall.ENOSPC))
}

func TestFileKind(t *testing.T) {
	for mode, want := range map[fs.FileMode]string{
		fs.ModeDir | 0o755:                "a folder",
		0o644:                             "a regular file",
		fs.ModeSymlink | 0o777:            "a symbolic link",
		fs.ModeNamedPipe:                  "a named pipe",
		fs.ModeSocket:                     "a socket",
		fs.ModeDevice | fs.ModeCharDevice: "a device",
		fs.ModeIrregular:                  "a special file",
	} {
		assert.Equal(t, want, FileKind(mode), mode.String())
	}
}

// TestKeyMaterialSparesPaths: the base64 test must not hide the paths,
// test names and identifiers that messages name all the time.
func TestKeyMaterialSparesPaths(t *testing.T) {
	for _, v := range []string{
		"/tmp/TestLintRefusesFilesItCannotRead4006115411/001/none.tgz",
		"/tmp/TestPackageRefusesBadInputWithoutOutput368605886/002/connection.json",
		"/var/lib/ThisIsAVeryLongFolderNameWithManyWords2024/And/More/Words/v1/chaincode",
		"BUILD_OUTPUT_DIR/META-INF/statedb/couchdb/collections/Collection1/indexes/IndexOwner2.json",
		"/tmp/TestCorpusBinaryPathVeryLong1234567890/001/src/META-INF/statedb/couchdb/indexes/Index1.json",
		"/home/operator/Projects/FabricNetwork2024/Org1Peer0/ExternalBuilders/v2/bin/Release3",
		"github.com/hyperledger/fabric-chaincode-go/v2/shim/internal/ChaincodeServer",
		strings.Repeat("0123456789abcdef", 8),
		strings.Repeat("ABCDEFGHIJKLMNOP", 8),
	} {
		assert.Empty(t, KeyMaterial(v), v)
	}
	// A key's body is found, with or without its line breaks; a single
	// line of it almost always (the test is statistical: short lines with
	// few digits can pass for words).
	lines, missed := 0, 0
	for n := 0; n < 100; n++ {
		key := strings.Split(testpki.NewCA("k").Client("c").KeyPEM, "\n")
		body := key[1 : len(key)-2]
		assert.NotEmpty(t, KeyMaterial(strings.Join(body, "")))
		assert.NotEmpty(t, KeyMaterial(strings.Join(body, "\n")))
		for _, line := range body[1:] { // the first line is the same for every P-256 key
			lines++
			if KeyMaterial(line) == "" {
				missed++
			}
		}
	}
	assert.Less(t, missed*20, lines, "%d of %d lines of key bodies missed", missed, lines)
}
