package coreyaml

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ours = Builder{
	Name:                 "extbuilder",
	Path:                 "/opt/hyperledger/extbuilder",
	PropagateEnvironment: []string{"CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"},
}

// blockLines is ours as a block entry, dash after indent, keys after keys.
func blockLines(indent, keys string) []string {
	return []string{
		indent + "- name: extbuilder\n",
		keys + "path: /opt/hyperledger/extbuilder\n",
		keys + "propagateEnvironment:\n",
		keys + "  - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG\n",
	}
}

// lines joins lines with "\n" and a final "\n", so cases read like files.
func lines(ls ...string) string { return strings.Join(ls, "\n") + "\n" }

func TestInsertFirst(t *testing.T) {
	cases := []struct {
		name      string
		in, want  string
		wantLine  int
		wantNames []string
	}{
		{
			name: "3.1 layout: before ccaas_builder, same indentation",
			in: lines(
				"peer:",
				"    id: jdoe",
				"chaincode:",
				"    pull: false",
				"    # Tried in order.",
				"",
				"    externalBuilders:",
				"       - name: ccaas_builder",
				"         path: /opt/hyperledger/ccaas_builder",
				"         propagateEnvironment:",
				"           - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"",
				"",
				"    installTimeout: 300s",
			),
			want: lines(
				"peer:",
				"    id: jdoe",
				"chaincode:",
				"    pull: false",
				"    # Tried in order.",
				"",
				"    externalBuilders:",
				"       - name: extbuilder",
				"         path: /opt/hyperledger/extbuilder",
				"         propagateEnvironment:",
				"           - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"       - name: ccaas_builder",
				"         path: /opt/hyperledger/ccaas_builder",
				"         propagateEnvironment:",
				"           - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"",
				"",
				"    installTimeout: 300s",
			),
			wantLine:  8,
			wantNames: []string{"extbuilder", "ccaas_builder"},
		},
		{
			name: "2.4 layout: externalBuilders: [] followed by a commented example",
			in: lines(
				"chaincode:",
				"    mode: net",
				"    externalBuilders: []",
				"        # - path: /path/to/directory",
				"        #   name: descriptive-builder-name",
				"",
				"    installTimeout: 300s",
			),
			want: lines(
				"chaincode:",
				"    mode: net",
				"    externalBuilders:",
				"        - name: extbuilder",
				"          path: /opt/hyperledger/extbuilder",
				"          propagateEnvironment:",
				"            - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"        # - path: /path/to/directory",
				"        #   name: descriptive-builder-name",
				"",
				"    installTimeout: 300s",
			),
			wantLine:  4,
			wantNames: []string{"extbuilder"},
		},
		{
			name: "empty flow list with a comment keeps the comment",
			in:   lines("chaincode:", "  externalBuilders: [ ]   # none yet", "  mode: net"),
			want: lines(
				"chaincode:",
				"  externalBuilders:   # none yet",
				"    - name: extbuilder",
				"      path: /opt/hyperledger/extbuilder",
				"      propagateEnvironment:",
				"        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"  mode: net",
			),
			wantLine:  3,
			wantNames: []string{"extbuilder"},
		},
		{
			name: "key with no value",
			in:   lines("chaincode:", "  externalBuilders:", "  mode: net"),
			want: lines(
				"chaincode:",
				"  externalBuilders:",
				"    - name: extbuilder",
				"      path: /opt/hyperledger/extbuilder",
				"      propagateEnvironment:",
				"        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"  mode: net",
			),
			wantLine:  3,
			wantNames: []string{"extbuilder"},
		},
		{
			name: "explicit null",
			in:   lines("chaincode:", "    externalBuilders: ~"),
			want: lines(
				"chaincode:",
				"    externalBuilders:",
				"        - name: extbuilder",
				"          path: /opt/hyperledger/extbuilder",
				"          propagateEnvironment:",
				"            - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
			),
			wantLine:  3,
			wantNames: []string{"extbuilder"},
		},
		{
			name: "no externalBuilders key: added as chaincode's first key",
			in:   lines("peer:", "  id: p0", "chaincode:", "  # the mode", "  mode: net", "ledger:", "  state:"),
			want: lines(
				"peer:", "  id: p0", "chaincode:",
				"  externalBuilders:",
				"    - name: extbuilder",
				"      path: /opt/hyperledger/extbuilder",
				"      propagateEnvironment:",
				"        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"  # the mode", "  mode: net", "ledger:", "  state:",
			),
			wantLine:  5,
			wantNames: []string{"extbuilder"},
		},
		{
			name: "no chaincode section: appended, indentation taken from the file",
			in:   lines("peer:", "  id: p0", "  # externalBuilders: not here", "ledger:", "  externalBuilders: [] # another section's key"),
			want: lines(
				"peer:", "  id: p0", "  # externalBuilders: not here", "ledger:", "  externalBuilders: [] # another section's key",
				"chaincode:",
				"  externalBuilders:",
				"    - name: extbuilder",
				"      path: /opt/hyperledger/extbuilder",
				"      propagateEnvironment:",
				"        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
			),
			wantLine:  8,
			wantNames: []string{"extbuilder"},
		},
		{
			name: "no chaincode section and no final line end",
			in:   "peer:\n    id: p0",
			want: lines(
				"peer:", "    id: p0",
				"chaincode:",
				"    externalBuilders:",
				"        - name: extbuilder",
				"          path: /opt/hyperledger/extbuilder",
				"          propagateEnvironment:",
			) + "            - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
			wantLine:  5,
			wantNames: []string{"extbuilder"},
		},
		{
			name: "sequence at the key's own indentation",
			in:   lines("chaincode:", "  externalBuilders:", "  - name: a", "    path: /opt/a", "  mode: net"),
			want: lines(
				"chaincode:",
				"  externalBuilders:",
				"  - name: extbuilder",
				"    path: /opt/hyperledger/extbuilder",
				"    propagateEnvironment:",
				"      - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"  - name: a", "    path: /opt/a", "  mode: net",
			),
			wantLine:  3,
			wantNames: []string{"extbuilder", "a"},
		},
		{
			name: "entry whose keys start on the line after its dash, wide key column",
			in:   lines("chaincode:", "  externalBuilders:", "    -", "      name: a", "      path: /opt/a", "    -   name: b", "        path: /opt/b"),
			want: lines(
				"chaincode:",
				"  externalBuilders:",
				"    - name: extbuilder",
				"      path: /opt/hyperledger/extbuilder",
				"      propagateEnvironment:",
				"        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"    -", "      name: a", "      path: /opt/a", "    -   name: b", "        path: /opt/b",
			),
			wantLine:  3,
			wantNames: []string{"extbuilder", "a", "b"},
		},
		{
			name: "key column of the first entry is copied",
			in:   lines("chaincode:", "  externalBuilders:", "    -   name: a", "        path: /opt/a"),
			want: lines(
				"chaincode:",
				"  externalBuilders:",
				"    -   name: extbuilder",
				"        path: /opt/hyperledger/extbuilder",
				"        propagateEnvironment:",
				"          - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"    -   name: a", "        path: /opt/a",
			),
			wantLine:  3,
			wantNames: []string{"extbuilder", "a"},
		},
		{
			name: "flow mapping entries in a block list",
			in:   lines("chaincode:", "  externalBuilders:", "    - {name: a, path: /opt/a, propagateEnvironment: [X, Y]}", "    - {name: 'b', path: \"/opt/b\"}"),
			want: lines(
				"chaincode:",
				"  externalBuilders:",
				"    - name: extbuilder",
				"      path: /opt/hyperledger/extbuilder",
				"      propagateEnvironment:",
				"        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"    - {name: a, path: /opt/a, propagateEnvironment: [X, Y]}", "    - {name: 'b', path: \"/opt/b\"}",
			),
			wantLine:  3,
			wantNames: []string{"extbuilder", "a", "b"},
		},
		{
			name: "one-line flow list with entries",
			in:   lines("chaincode:", "  externalBuilders: [{name: a, path: /opt/a}, {name: b, path: /opt/b}]  # two", "  mode: net"),
			want: lines(
				"chaincode:",
				"  externalBuilders: [{name: extbuilder, path: /opt/hyperledger/extbuilder, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}, {name: a, path: /opt/a}, {name: b, path: /opt/b}]  # two",
				"  mode: net",
			),
			wantLine:  2,
			wantNames: []string{"extbuilder", "a", "b"},
		},
		{
			name: "a comment right above the first entry stays with it",
			in:   lines("chaincode:", "    externalBuilders:", "", "        # Fabric's own builder", "        - name: ccaas_builder", "          path: /opt/hyperledger/ccaas_builder"),
			want: lines(
				"chaincode:", "    externalBuilders:", "",
				"        - name: extbuilder",
				"          path: /opt/hyperledger/extbuilder",
				"          propagateEnvironment:",
				"            - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"        # Fabric's own builder", "        - name: ccaas_builder", "          path: /opt/hyperledger/ccaas_builder",
			),
			wantLine:  4,
			wantNames: []string{"extbuilder", "ccaas_builder"},
		},
		{
			name: "keys in other letter cases, as the peer accepts them",
			in:   lines("Chaincode:", "  ExternalBuilders:", "    - Name: a", "      Path: /opt/a"),
			want: lines(
				"Chaincode:", "  ExternalBuilders:",
				"    - name: extbuilder",
				"      path: /opt/hyperledger/extbuilder",
				"      propagateEnvironment:",
				"        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"    - Name: a", "      Path: /opt/a",
			),
			wantLine:  3,
			wantNames: []string{"extbuilder", "a"},
		},
		{
			name: "text inside a block scalar is not mistaken for keys",
			in: lines("chaincode:", "    java:", "        Dockerfile: |", "            externalBuilders: []", "            chaincode:",
				"    externalBuilders:", "       - name: a", "         path: /opt/a"),
			want: lines("chaincode:", "    java:", "        Dockerfile: |", "            externalBuilders: []", "            chaincode:",
				"    externalBuilders:",
				"       - name: extbuilder",
				"         path: /opt/hyperledger/extbuilder",
				"         propagateEnvironment:",
				"           - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG",
				"       - name: a", "         path: /opt/a"),
			wantLine:  7,
			wantNames: []string{"extbuilder", "a"},
		},
		{
			name: "document marker, directive and byte order mark are kept",
			in:   "\ufeff%YAML 1.1\n---\nchaincode:\n  externalBuilders: []\n",
			want: "\ufeff%YAML 1.1\n---\nchaincode:\n  externalBuilders:\n    - name: extbuilder\n      path: /opt/hyperledger/extbuilder\n" +
				"      propagateEnvironment:\n        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG\n",
			wantLine:  5,
			wantNames: []string{"extbuilder"},
		},
		{
			name:      "byte order mark before the first key",
			in:        "\ufeffchaincode:\n  externalBuilders: [] # none\n",
			want:      "\ufeffchaincode:\n  externalBuilders: # none\n" + strings.Join(blockLines("    ", "      "), ""),
			wantLine:  3,
			wantNames: []string{"extbuilder"},
		},
		{
			name:      "empty flow list on the line below its key stays a flow list",
			in:        lines("chaincode:", "  externalBuilders:", "    [ ]"),
			want:      lines("chaincode:", "  externalBuilders:", "    [{name: extbuilder, path: /opt/hyperledger/extbuilder, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]} ]"),
			wantLine:  3,
			wantNames: []string{"extbuilder"},
		},
		{
			name:      "non-ASCII text before the flow list on its line",
			in:        lines("chaincode:", "  externalBuilderſ: [{name: \"é\", path: /opt/é}]"),
			want:      lines("chaincode:", "  externalBuilderſ: [{name: extbuilder, path: /opt/hyperledger/extbuilder, propagateEnvironment: [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG]}, {name: \"é\", path: /opt/é}]"),
			wantLine:  2,
			wantNames: []string{"extbuilder", "é"},
		},
		{
			name:      "null written out, with a comment",
			in:        lines("chaincode:", "  externalBuilders: NULL   # later"),
			want:      lines("chaincode:", "  externalBuilders:   # later") + strings.Join(blockLines("    ", "      "), ""),
			wantLine:  3,
			wantNames: []string{"extbuilder"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := InsertFirst([]byte(c.in), ours)
			require.NoError(t, err)
			assert.Equal(t, c.want, string(r.Text))
			assert.True(t, r.Changed)
			assert.Equal(t, c.wantLine, r.Line)
			assert.Equal(t, c.wantNames, r.Names)

			// Running it again finds the entry and changes nothing.
			again, err := InsertFirst(r.Text, ours)
			require.NoError(t, err)
			assert.False(t, again.Changed)
			assert.Equal(t, string(r.Text), string(again.Text))
			assert.Equal(t, c.wantNames, again.Names)
		})
	}
}

func TestInsertFirstKeepsCRLF(t *testing.T) {
	in := "chaincode:\r\n    externalBuilders:\r\n       - name: ccaas_builder\r\n         path: /opt/hyperledger/ccaas_builder\r\n    mode: net\r\n"
	r, err := InsertFirst([]byte(in), ours)
	require.NoError(t, err)
	want := "chaincode:\r\n    externalBuilders:\r\n" +
		"       - name: extbuilder\r\n         path: /opt/hyperledger/extbuilder\r\n" +
		"         propagateEnvironment:\r\n           - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG\r\n" +
		"       - name: ccaas_builder\r\n         path: /opt/hyperledger/ccaas_builder\r\n    mode: net\r\n"
	assert.Equal(t, want, string(r.Text))

	// Appended after a last line without a line end: that line gets a
	// CRLF, the new last line none.
	r, err = InsertFirst([]byte("peer:\r\n  id: p0"), ours)
	require.NoError(t, err)
	assert.Equal(t, "peer:\r\n  id: p0\r\nchaincode:\r\n  externalBuilders:\r\n    - name: extbuilder\r\n      path: /opt/hyperledger/extbuilder\r\n"+
		"      propagateEnvironment:\r\n        - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG", string(r.Text))
}

// A second builder (the Kubernetes one) goes in front of an extbuilder
// entry added earlier; running both again changes nothing. Run in the other
// order, extbuilder ends up first.
func TestSecondBuilder(t *testing.T) {
	k8s := Builder{Name: "extbuilder-k8s", Path: "/opt/hyperledger/extbuilder-k8s", PropagateEnvironment: []string{"KUBERNETES_SERVICE_HOST"}}
	base, err := os.ReadFile("testdata/core-3.1.yaml")
	require.NoError(t, err)
	one, err := InsertFirst(base, ours)
	require.NoError(t, err)
	two, err := InsertFirst(one.Text, k8s)
	require.NoError(t, err)
	assert.True(t, two.Changed)
	assert.Equal(t, []string{"extbuilder-k8s", "extbuilder", "ccaas_builder"}, two.Names)
	anchor := "       - name: extbuilder\n"
	want := strings.Replace(string(one.Text), anchor, "       - name: extbuilder-k8s\n"+
		"         path: /opt/hyperledger/extbuilder-k8s\n"+
		"         propagateEnvironment:\n"+
		"           - KUBERNETES_SERVICE_HOST\n"+anchor, 1)
	assert.Equal(t, want, string(two.Text))
	for _, b := range []Builder{ours, k8s} {
		again, err := InsertFirst(two.Text, b)
		require.NoError(t, err)
		assert.False(t, again.Changed, b.Name)
		assert.Equal(t, two.Names, again.Names)
	}

	first, err := InsertFirst(base, k8s)
	require.NoError(t, err)
	second, err := InsertFirst(first.Text, ours)
	require.NoError(t, err)
	assert.Equal(t, []string{"extbuilder", "extbuilder-k8s", "ccaas_builder"}, second.Names)
}

func TestInsertFirstWithoutPropagateEnvironment(t *testing.T) {
	r, err := InsertFirst([]byte("chaincode:\n  externalBuilders:\n"), Builder{Name: "eb", Path: "/srv/eb"})
	require.NoError(t, err)
	assert.Equal(t, "chaincode:\n  externalBuilders:\n    - name: eb\n      path: /srv/eb\n", string(r.Text))
}

func TestExistingEntry(t *testing.T) {
	t.Run("same name and path, written differently, is left alone", func(t *testing.T) {
		in := lines("chaincode:", "  externalBuilders:", "    - name: ccaas_builder", "      path: /opt/hyperledger/ccaas_builder",
			"    - name: \"extbuilder\"", "      path: '/opt/hyperledger/extbuilder/'  # trailing slash")
		r, err := InsertFirst([]byte(in), ours)
		require.NoError(t, err)
		assert.False(t, r.Changed)
		assert.Equal(t, in, string(r.Text))
		assert.Equal(t, 5, r.Line)
		assert.Equal(t, []string{"ccaas_builder", "extbuilder"}, r.Names, "the caller can see it is not first")
	})
	t.Run("same name, other path, is refused", func(t *testing.T) {
		in := lines("chaincode:", "  externalBuilders:", "    - name: ccaas_builder", "      path: /opt/hyperledger/ccaas_builder",
			"    - path: /usr/local/extbuilder", "      name: extbuilder")
		_, err := InsertFirst([]byte(in), ours)
		var e *Error
		require.True(t, errors.As(err, &e), "got %v", err)
		assert.Equal(t, 5, e.Line)
		assert.Equal(t, `line 5: chaincode.externalBuilders: an entry named "extbuilder" already exists with path "/usr/local/extbuilder", `+
			`expected "/opt/hyperledger/extbuilder"; hint: remove that entry, or choose another name with -name`, err.Error())
	})
	t.Run("in a flow list", func(t *testing.T) {
		in := lines("chaincode:", "  externalBuilders: [{path: /opt/hyperledger/extbuilder, name: extbuilder}]")
		r, err := InsertFirst([]byte(in), ours)
		require.NoError(t, err)
		assert.False(t, r.Changed)
		_, err = InsertFirst([]byte(in), Builder{Name: "extbuilder", Path: "/elsewhere"})
		assert.ErrorContains(t, err, `line 2: chaincode.externalBuilders: an entry named "extbuilder" already exists with path "/opt/hyperledger/extbuilder"`)
	})
}

func TestRefusals(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty input", "", "the file holds no YAML content"},
		{"only comments", "# nothing\n\n", "the file holds no YAML content"},
		{"top level is a list", "- a\n- b\n", `line 1: expected a top-level key such as "peer:", found "- a"`},
		{"top level is a flow mapping", "{chaincode: {}}\n", `line 1: expected a top-level key such as "peer:", found "{chaincode: {}}"`},
		{"top level indented", "  chaincode:\n    mode: net\n", "line 1: expected the first key at column 1"},
		{"two documents", "peer:\n  id: a\n---\nchaincode:\n", `line 3: found "---": only a single YAML document`},
		{"chaincode as a flow mapping", "peer:\n  id: a\nchaincode: {mode: net}\n", `line 3: chaincode: expected a block mapping on the following lines, found "{mode: net}"`},
		{"chaincode twice", "chaincode:\n  mode: net\nChaincode:\n  mode: dev\n", "line 3: chaincode: found a second chaincode key (the first is on line 1)"},
		{"externalBuilders twice", "chaincode:\n  externalBuilders: []\n  mode: net\n  externalbuilders:\n", "line 4: chaincode.externalBuilders: found a second externalBuilders key (the first is on line 2)"},
		{"merge key in chaincode", "defaults: &d\n  externalBuilders: []\nchaincode:\n  <<: *d\n", "line 4: chaincode: found a merge key (<<)"},
		{"top-level merge key", "d: &d {}\n<<: *d\npeer:\n  id: a\n", "line 2: found a merge key (<<) or an alias as a key; chaincode may come from an alias"},
		{"tab indentation", "chaincode:\n\texternalBuilders: []\n", "line 2: found a tab in the indentation"},
		{"tab after spaces", "chaincode:\n  mode: net\n \texternalBuilders: []\n", "line 3: found a tab in the indentation"},
		{"externalBuilders is a mapping", "chaincode:\n  externalBuilders:\n    name: a\n    path: /opt/a\n", `line 3: chaincode.externalBuilders: expected a list, found "name: a"`},
		{"externalBuilders is a scalar", "chaincode:\n  externalBuilders: /opt/a\n", `line 2: chaincode.externalBuilders: expected a list, found "/opt/a"`},
		{"externalBuilders is an alias", "none: &list []\nchaincode:\n  externalBuilders: *list\n", `line 3: chaincode.externalBuilders: expected a list, found "*list"`},
		{"undefined alias", "chaincode:\n  # *list\n  externalBuilders: *list\n", `line 3: not valid YAML: unknown anchor 'list' referenced`},
		{"YAML 1.2 directive, which the peer's parser refuses", "%YAML 1.2\n---\nchaincode:\n", "line 1: not valid YAML: found incompatible YAML document"},
		{"lone CR", "chaincode:\r  externalBuilders: []\n", `line 1: found the line break '\r'; expected LF or CRLF line ends`},
		{"mis-indented key well below where its block starts", "peer:\n  a:\n    b: 1\n    c: 2\n    e: 4\n   d: 3\nchaincode:\n", "line 6: not valid YAML: did not find expected key"},
		{"unclosed flow list", "peer:\n  l: [1,\n    2,\n  a:\n    b: 1\n", "not valid YAML: did not find expected ',' or ']'"},
		{"a bare tag under chaincode", "chaincode:\n !\n", `line 2: chaincode: expected a block mapping on the following lines, found "!"`},
		{"a bare tag as the list", "chaincode:\n  externalBuilders: !\n  mode: net\n", `line 2: chaincode.externalBuilders: expected a list, found "!"`},
		{"CR at the very end", "chaincode:\r", `line 1: found the line break '\r'`},
		{"NEL in a comment", "chaincode: # \u0085externalBuilders: []\n", `line 1: found the line break '\u0085'`},
		{"explicit key", "? chaincode\n: \n", `line 1: chaincode: found a complex key (? ...); expected "chaincode:"`},
		{"anchored chaincode", "chaincode: &cc\n  mode: net\n", `line 1: chaincode: expected a block mapping on the following lines, found "&cc"`},
		{"tagged list", "chaincode:\n  externalBuilders: !!seq\n  - name: a\n", `line 2: chaincode.externalBuilders: expected a list, found "!!seq"`},
		{"null on the next line", "chaincode:\n  externalBuilders:\n    ~\n", `line 3: chaincode.externalBuilders: expected a list, found "~"`},
		{"list of lists", "chaincode:\n  externalBuilders:\n    - [a]\n", `line 3: chaincode.externalBuilders entry 1: expected a mapping with name and path, found "[a]"`},
		{"name is a list", "chaincode:\n  externalBuilders:\n    - name: [a]\n", `line 3: chaincode.externalBuilders entry 1.name: expected a plain or quoted string, found "[a]"`},
		{"merge key in an entry", "d: &d {path: /opt/a}\nchaincode:\n  externalBuilders:\n    - name: a\n      <<: *d\n", "line 5: chaincode.externalBuilders entry 1: found a merge key (<<)"},
		{"alias as a key", "n: &n chaincode\n*n : {}\n", "line 2: found a merge key (<<) or an alias as a key"},
		{"tagged chaincode", "chaincode: !!map\n  mode: net\n", `line 1: chaincode: expected a block mapping on the following lines, found "!!map"`},
		{"anchored list", "chaincode:\n  externalBuilders: &l\n    - name: a\n", `line 2: chaincode.externalBuilders: expected a list, found "&l"`},
		{"content on the --- line", "--- !!map\nchaincode:\n", `line 1: found "--- !!map": only a single YAML document`},
		{"document end marker after content", "chaincode:\n  mode: net\n...\n", `line 3: found "...": only a single YAML document`},
		{"flow list over several lines", "chaincode:\n  externalBuilders: [\n    {name: a, path: /opt/a}]\n", `line 2: chaincode.externalBuilders: expected a flow list on one line, found "["`},
		{"flow list of scalars", "chaincode:\n  externalBuilders: [a, b]\n", "line 2: chaincode.externalBuilders entry 1: expected a mapping with name and path"},
		{"alias entry", "x: &ccaas {name: a, path: /opt/a}\nchaincode:\n  externalBuilders:\n    - *ccaas\n", `line 4: chaincode.externalBuilders entry 1: expected a mapping with name and path, found "*ccaas"`},
		{"scalar entry", "chaincode:\n  externalBuilders:\n    - /opt/a\n", `line 3: chaincode.externalBuilders entry 1: expected a mapping with name and path, found "/opt/a"`},
		{"empty entry", "chaincode:\n  externalBuilders:\n    -\n  mode: net\n", "line 3: chaincode.externalBuilders entry 1: found an empty entry"},
		{"anchored name", "chaincode:\n  externalBuilders:\n    - name: &n a\n      path: /opt/a\n", `line 3: chaincode.externalBuilders entry 1.name: expected a plain or quoted string, found "&n a"`},
		{"block scalar path", "chaincode:\n  externalBuilders:\n    - name: a\n      path: >\n        /opt/a\n", `line 4: chaincode.externalBuilders entry 1.path: expected a plain or quoted string, found ">"`},
		{"name twice", "chaincode:\n  externalBuilders:\n    - name: a\n      name: b\n", "line 4: chaincode.externalBuilders entry 1: found name twice"},
		{"bad indentation in an entry", "chaincode:\n  externalBuilders:\n    - name: a\n     path: /opt/a\n", "line 4: not valid YAML: did not find expected '-' indicator"},
		{"multi-line flow entry", "chaincode:\n  externalBuilders:\n    - {name: a,\n       path: /opt/a}\n", `line 3: chaincode.externalBuilders entry 1: expected a flow mapping on one line, found "{name: a,"`},
		{"second entry is not a list item", "chaincode:\n  externalBuilders:\n    - name: a\n    name: b\n", "line 4: not valid YAML: did not find expected '-' indicator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := InsertFirst([]byte(c.in), ours)
			require.Error(t, err, "output:\n%s", r.Text)
			assert.Contains(t, err.Error(), c.want)
			assert.Nil(t, r.Text, "no half-edited text on error")
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestBuilderValidate(t *testing.T) {
	for _, b := range []Builder{
		{Name: "", Path: "/opt/x"},
		{Name: "has space", Path: "/opt/x"},
		{Name: "-dash", Path: "/opt/x"},
		{Name: "x", Path: "relative/x"},
		{Name: "x", Path: "/opt/x # y"},
		{Name: "x", Path: "/opt/x", PropagateEnvironment: []string{"NOT-A-NAME"}},
	} {
		_, err := InsertFirst([]byte("chaincode:\n  externalBuilders: []\n"), b)
		assert.Error(t, err, "%+v", b)
	}
}

// The fixture shaped like the 3.1 image's core.yaml: the only difference is
// the four added lines, right above ccaas_builder.
func TestFabricLikeFile(t *testing.T) {
	in, err := os.ReadFile("testdata/core-3.1.yaml")
	require.NoError(t, err)
	r, err := InsertFirst(in, ours)
	require.NoError(t, err)
	anchor := "       - name: ccaas_builder\n"
	require.Equal(t, 1, strings.Count(string(in), anchor))
	want := strings.Replace(string(in), anchor,
		"       - name: extbuilder\n"+
			"         path: /opt/hyperledger/extbuilder\n"+
			"         propagateEnvironment:\n"+
			"           - CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG\n"+anchor, 1)
	assert.Equal(t, want, string(r.Text))
	assert.Equal(t, []string{"extbuilder", "ccaas_builder"}, r.Names)
}

// FuzzInsertFirst: whatever the input, no panic; an edit that succeeds can
// be read back, finds its own entry first and is not repeated.
func FuzzInsertFirst(f *testing.F) {
	for _, s := range []string{
		lines("chaincode:", "    externalBuilders:", "       - name: ccaas_builder", "         path: /opt/hyperledger/ccaas_builder"),
		lines("chaincode:", "  externalBuilders: [] # none"),
		lines("chaincode:", "  externalBuilders: [{name: a, path: /opt/a}]"),
		lines("chaincode:", "  externalBuilders:", "  - {name: a, path: '/opt/a'}", "  -", "    name: b"),
		lines("peer:", "  id: a"),
		"chaincode:\r\n  mode: net",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := InsertFirst([]byte(in), ours)
		if err != nil {
			require.NotContains(t, err.Error(), "\n")
			return
		}
		if !r.Changed {
			require.Equal(t, in, string(r.Text))
			return
		}
		require.Equal(t, "extbuilder", r.Names[0])
		again, err := InsertFirst(r.Text, ours)
		require.NoError(t, err, "the edited text:\n%s", r.Text)
		require.False(t, again.Changed, "the edited text:\n%s", r.Text)
		require.Equal(t, "extbuilder", again.Names[0])
	})
}
