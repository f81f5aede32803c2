package metadata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

func TestParseModes(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		mode Mode
	}{
		{"ccaas", Service}, {"CCAAS", Service}, {"external", Service}, {"External", Service},
		{"binary", Binary}, {"BINARY", Binary},
		{"golang", Unhandled}, {"node", Unhandled}, {"", Unhandled}, {"ccaas ", Unhandled},
	} {
		m, err := Parse([]byte(`{"type":"` + tc.typ + `","label":"l","path":"p"}`))
		require.NoError(t, err, tc.typ)
		assert.Equal(t, tc.mode, m.Mode(), tc.typ)
		assert.Equal(t, Metadata{Type: tc.typ, Label: "l", Path: "p"}, m)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"type":`, "metadata.json: expected JSON, found malformed JSON"},
		{``, "metadata.json: expected JSON, found malformed JSON"},
		{`[1]`, "metadata.json: expected a JSON object, found an array"},
		{`"ccaas"`, "metadata.json: expected a JSON object, found a string"},
		{`{"label":"x"}`, "metadata.json: type: required field is missing"},
		{`{"type":7}`, "metadata.json: type: expected a string, found a number"},
		{`{"type":null}`, "metadata.json: type: expected a string, found null, which the peer reads as no type"},
		// The peer's encoding/json keeps the last of two spellings; gjson the first.
		{`{"type":"binary","type":"ccaas"}`, `metadata.json: type: given twice, as "type" and "type": the peer would silently use the last one`},
		{`{"type":"ccaas","Type":"golang"}`, `metadata.json: type: given twice, as "type" and "Type": the peer would silently use the last one`},
		{`{"type":"ccaas","path":{}}`, "metadata.json: path: expected a string, found an object"},
		{`{"type":"ccaas","label":true}`, "metadata.json: label: expected a string, found a boolean"},
		{"{\"type\":\"cc\xffas\"}", "metadata.json: expected UTF-8 JSON, found invalid UTF-8"},
	} {
		_, err := Parse([]byte(tc.in))
		require.Error(t, err, tc.in)
		assert.Equal(t, tc.want, err.Error(), tc.in)
	}
}

// The peer reads metadata.json with encoding/json into
// persistence.ChaincodePackageMetadata (core/chaincode/persistence), and
// Fabric's ccaas_builder detect does the same: field names match ignoring
// case, null is absent, other fields are ignored. So {"Type":"ccaas"}
// installs, and extbuilder claims it too, with a warning for build to print.
func TestParseAsThePeer(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Metadata
		warning string
	}{
		{`{"Type":"ccaas","Label":"mycc"}`, Metadata{Type: "ccaas", Label: "mycc", Respelt: `"Type" as type, "Label" as label`},
			`metadata.json: field names read ignoring case, as the peer reads them: "Type" as type, "Label" as label`},
		{`{"TYPE":"binary","PATH":"bin/cc"}`, Metadata{Type: "binary", Path: "bin/cc", Respelt: `"TYPE" as type, "PATH" as path`},
			`metadata.json: field names read ignoring case, as the peer reads them: "TYPE" as type, "PATH" as path`},
		{`{"type":"ccaas","label":null,"path":null}`, Metadata{Type: "ccaas"}, ""},
		{`{"typ\u0065":"ccaas"}`, Metadata{Type: "ccaas"}, ""},
		{`{"type":"ccaas","kind":7,"labels":[1]}`, Metadata{Type: "ccaas"}, ""},
	} {
		m, err := Parse([]byte(tc.in))
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, m, tc.in)
		assert.Equal(t, tc.warning, m.Warning(), tc.in)
	}
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, File), []byte(`{"Type":"CCAAS","Label":"mycc"}`), 0o700))
	m, err := Claim(dir)
	require.NoError(t, err)
	assert.Equal(t, Service, m.Mode())
}

func TestClaim(t *testing.T) {
	dir := t.TempDir()
	_, err := Claim(dir)
	assert.EqualError(t, err, "metadata.json: file not found in the metadata folder")

	write := func(s string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, File), []byte(s), 0o700))
	}
	write(`{"type":"golang","label":"mycc"}`)
	_, err = Claim(dir)
	assert.EqualError(t, err, `metadata.json: type: "golang" is not handled by extbuilder (handled: ccaas, external, binary)`)

	write(`{"type":"external","label":"mycc"}`)
	m, err := Claim(dir)
	require.NoError(t, err)
	assert.Equal(t, Service, m.Mode())
	_, err = ClaimKubernetes(dir)
	assert.EqualError(t, err, `metadata.json: type: "external" is not handled by extbuilder's Kubernetes builder (handled: k8s)`)

	// k8s packages go to the Kubernetes builder, a folder of its own: the
	// main builder must refuse them, or it would shadow it in core.yaml.
	write(`{"type":"k8s","label":"mycc"}`)
	_, err = Claim(dir)
	assert.EqualError(t, err, `metadata.json: type: "k8s" is left to extbuilder's Kubernetes builder (handled here: ccaas, external, binary)`)
	m, err = ClaimKubernetes(dir)
	require.NoError(t, err)
	assert.Equal(t, Kubernetes, m.Mode())
	write(`{"type":"K8S","label":"mycc"}`)
	_, err = ClaimKubernetes(dir)
	assert.NoError(t, err, "types compare case-insensitively, as for the other types")

	big := make([]byte, MaxSize+1)
	for i := range big {
		big[i] = ' '
	}
	write(`{"type":"ccaas"}` + string(big))
	_, err = Claim(dir)
	assert.ErrorContains(t, err, "expected at most 64 KiB, found more")
}

func TestCheckLabel(t *testing.T) {
	for _, ok := range []string{"mycc", "mycc_1.0", "a", "A+b-c.d_e", "0abc"} {
		assert.NoError(t, CheckLabel(ok), ok)
	}
	for _, bad := range []string{"", "_mycc", "-x", "my cc", "mycc:1", "my/cc", "é", "mycc\n"} {
		assert.Error(t, CheckLabel(bad), bad)
	}
}

// A type or label of any length must still give a short line: the peer
// stops reading stderr at a 64 KiB line, and %q can triple a value's size.
func TestLongValuesAreShortenedInMessages(t *testing.T) {
	long := strings.Repeat(`\u00ad`, 10000) // a soft hyphen prints as \u00ad: 6 bytes for 2
	m, err := Parse([]byte(`{"type":"` + long + `","label":"` + long + `"}`))
	require.NoError(t, err)
	for _, err := range []error{CheckType(m), CheckLabel(m.Label)} {
		require.Error(t, err)
		assert.LessOrEqual(t, len(err.Error()), maxMessage, err.Error()[:100])
		assert.Contains(t, err.Error(), `..." (20000 bytes)`)
	}
}

// A type or label holding a key is never quoted: detect, build and lint
// all word it through msg.Quote.
func TestKeyMaterialIsNotQuoted(t *testing.T) {
	key := testpki.NewCA("ca").Client("c").KeyPEM
	js, err := json.Marshal(map[string]string{"type": "ccaas" + key, "label": key})
	require.NoError(t, err)
	m, err := Parse(js)
	require.NoError(t, err)
	for _, err := range []error{CheckType(m), CheckLabel(m.Label)} {
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "BEGIN")
		assert.NotContains(t, err.Error(), "PRIVATE")
		assert.Contains(t, err.Error(), "PEM text (")
	}
}

// A metadata.json that cannot be read is named once, without the path.
func TestReadErrorsNameTheFileOnce(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, File), 0o700))
	_, err := Read(dir)
	assert.EqualError(t, err, "metadata.json: expected a regular file, found a folder")
}
