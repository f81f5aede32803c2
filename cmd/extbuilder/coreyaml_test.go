package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ccaasOnly = `chaincode:
    # Fabric's own builder.
    externalBuilders:
       - name: ccaas_builder
         path: /opt/hyperledger/ccaas_builder
    mode: net
`

const ccaasThenOurs = `chaincode:
    # Fabric's own builder.
    externalBuilders:
       - name: extbuilder
         path: /opt/hyperledger/extbuilder
         propagateEnvironment:
           - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG
       - name: ccaas_builder
         path: /opt/hyperledger/ccaas_builder
    mode: net
`

func coreYAML(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = runCoreYAML(args, strings.NewReader(stdin), &o, &e)
	return code, o.String(), e.String()
}

func TestCoreYAMLStdinToStdout(t *testing.T) {
	code, out, errOut := coreYAML(t, ccaasOnly)
	assert.Equal(t, 0, code)
	assert.Equal(t, ccaasThenOurs, out)
	assert.Empty(t, errOut)
}

func TestCoreYAMLFileInPlaceKeepsMode(t *testing.T) {
	f := filepath.Join(t.TempDir(), "core.yaml")
	require.NoError(t, os.WriteFile(f, []byte(ccaasOnly), 0o640))
	code, out, errOut := coreYAML(t, "", "-o", f, f)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, out)
	got, err := os.ReadFile(f)
	require.NoError(t, err)
	assert.Equal(t, ccaasThenOurs, string(got))
	st, err := os.Stat(f)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	entries, err := os.ReadDir(filepath.Dir(f))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}

func TestCoreYAMLOptions(t *testing.T) {
	code, out, errOut := coreYAML(t, "chaincode:\n  externalBuilders: []\n", "-name", "eb", "-path", "/srv/eb", "-propagate", "A, B")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "chaincode:\n  externalBuilders:\n    - name: eb\n      path: /srv/eb\n      propagateEnvironment:\n        - A\n        - B\n", out)

	code, out, errOut = coreYAML(t, "chaincode:\n  externalBuilders: []\n", "-propagate", "")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "chaincode:\n  externalBuilders:\n    - name: extbuilder\n      path: /opt/hyperledger/extbuilder\n", out)
}

func TestCoreYAMLAlreadyThere(t *testing.T) {
	in := `chaincode:
    externalBuilders:
       - name: ccaas_builder
         path: /opt/hyperledger/ccaas_builder
       - name: extbuilder
         path: /opt/hyperledger/extbuilder
    mode: net
`
	code, out, errOut := coreYAML(t, in)
	assert.Equal(t, 0, code)
	assert.Equal(t, in, out, "unchanged text still goes to the output, so pipelines work")
	assert.Equal(t,
		"extbuilder core-yaml: stdin: an entry named extbuilder with path /opt/hyperledger/extbuilder is already there (line 5); nothing changed\n"+
			"extbuilder core-yaml: warning: stdin: extbuilder is not the first of chaincode.externalBuilders (ccaas_builder, extbuilder); the peer asks ccaas_builder first\n",
		errOut)
}

func TestCoreYAMLErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "core.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("chaincode:\n  externalBuilders: /opt/a\n"), 0o644))
	outFile := filepath.Join(dir, "patched.yaml")

	code, out, errOut := coreYAML(t, "", "-o", outFile, bad)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "extbuilder core-yaml: "+bad+": line 2: chaincode.externalBuilders: expected a list, found \"/opt/a\"\n", errOut)
	assert.NoFileExists(t, outFile, "no output written on error")

	code, _, errOut = coreYAML(t, "", filepath.Join(dir, "missing.yaml"))
	assert.Equal(t, 1, code)
	assert.Equal(t, "extbuilder core-yaml: "+filepath.Join(dir, "missing.yaml")+": file not found\n", errOut)

	code, _, errOut = coreYAML(t, "", "a.yaml", "b.yaml")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "expected at most one CORE_YAML argument, found 2")

	code, _, errOut = coreYAML(t, ccaasOnly, "-path", "opt/extbuilder")
	assert.Equal(t, 2, code)
	assert.Equal(t, "extbuilder core-yaml: builder path \"opt/extbuilder\": expected an absolute path of letters, digits and _ . / + @ -\n", errOut)

	// A usage error: one prefixed line on stderr, exit 2, nothing on stdout.
	code, out, errOut = coreYAML(t, "", "--bogus")
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Equal(t, "extbuilder core-yaml: flag provided but not defined: -bogus; run 'extbuilder core-yaml --help'\n", errOut)

	// Help that was asked for: stdout, exit 0.
	for _, help := range []string{"-help", "--help", "-h"} {
		code, out, errOut = coreYAML(t, "", help)
		assert.Equal(t, 0, code, help)
		assert.Empty(t, errOut, help)
		assert.True(t, strings.HasPrefix(out, "usage: extbuilder core-yaml"), "%s: %q", help, out)
		assert.Contains(t, out, "\nOptions:\n  -name name\n", help)
	}
}

// The Kubernetes builder is added with the flags alone, next to an
// extbuilder entry added before; running it again changes nothing.
func TestCoreYAMLSecondBuilder(t *testing.T) {
	args := []string{"-name", "extbuilder-k8s", "-path", "/opt/hyperledger/extbuilder-k8s", "-propagate", "KUBERNETES_SERVICE_HOST,KUBERNETES_SERVICE_PORT"}
	code, out, errOut := coreYAML(t, ccaasThenOurs, args...)
	require.Equal(t, 0, code, errOut)
	assert.Empty(t, errOut)
	assert.Equal(t, strings.Replace(ccaasThenOurs, "       - name: extbuilder\n", `       - name: extbuilder-k8s
         path: /opt/hyperledger/extbuilder-k8s
         propagateEnvironment:
           - KUBERNETES_SERVICE_HOST
           - KUBERNETES_SERVICE_PORT
       - name: extbuilder
`, 1), out)

	code, again, errOut := coreYAML(t, out, args...)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, out, again)
	assert.Contains(t, errOut, "an entry named extbuilder-k8s with path /opt/hyperledger/extbuilder-k8s is already there (line 4); nothing changed")
}
