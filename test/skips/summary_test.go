package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stream is `go test -json` output for two packages: one with a skipped
// test and a skipped subtest, one with a failing test; plus a package
// without tests and a build failure.
const stream = `{"Action":"start","Package":"ex/a"}
{"Action":"run","Package":"ex/a","Test":"TestOK"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"    a_test.go:5: noisy log of a passing test\n"}
{"Action":"output","Package":"ex/a","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"ex/a","Test":"TestOK"}
{"Action":"run","Package":"ex/a","Test":"TestImage"}
{"Action":"output","Package":"ex/a","Test":"TestImage","Output":"=== RUN   TestImage\n"}
{"Action":"output","Package":"ex/a","Test":"TestImage","Output":"    image_test.go:54: buildah is not installed\n"}
{"Action":"output","Package":"ex/a","Test":"TestImage","Output":"--- SKIP: TestImage (0.01s)\n"}
{"Action":"skip","Package":"ex/a","Test":"TestImage"}
{"Action":"run","Package":"ex/a","Test":"TestParent/sub"}
{"Action":"output","Package":"ex/a","Test":"TestParent/sub","Output":"    --- SKIP: TestParent/sub (0.00s)\n"}
{"Action":"skip","Package":"ex/a","Test":"TestParent/sub"}
{"Action":"output","Package":"ex/a","Output":"PASS\n"}
{"Action":"output","Package":"ex/a","Output":"ok  \tex/a\t0.02s\n"}
{"Action":"pass","Package":"ex/a"}
{"Action":"run","Package":"ex/b","Test":"TestBad"}
{"Action":"output","Package":"ex/b","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"ex/b","Test":"TestBad","Output":"    b_test.go:9: got 1, want 2\n"}
{"Action":"output","Package":"ex/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"ex/b","Test":"TestBad"}
{"Action":"output","Package":"ex/b","Output":"FAIL\n"}
{"Action":"output","Package":"ex/b","Output":"FAIL\tex/b\t0.01s\n"}
{"Action":"fail","Package":"ex/b"}
{"Action":"output","Package":"ex/c","Output":"?   \tex/c\t[no test files]\n"}
{"Action":"skip","Package":"ex/c"}
{"ImportPath":"ex/d [ex/d.test]","Action":"build-output","Output":"ex/d/d.go:3:1: syntax error\n"}
{"ImportPath":"ex/d [ex/d.test]","Action":"build-fail"}
`

func TestSummarize(t *testing.T) {
	var out strings.Builder
	skips, failed, err := summarize(strings.NewReader(stream), &out)
	require.NoError(t, err)
	assert.True(t, failed)
	assert.Equal(t, []Skip{
		{"ex/a", "TestImage", "image_test.go:54: buildah is not installed"},
		{"ex/a", "TestParent/sub", "(no reason given)"},
	}, skips)
	assert.Equal(t, `ok  	ex/a	0.02s
    b_test.go:9: got 1, want 2
--- FAIL: TestBad (0.00s)
FAIL
FAIL	ex/b	0.01s
?   	ex/c	[no test files]
ex/d/d.go:3:1: syntax error
FAIL

Skipped tests (2): these did not run here.
  SKIP ex/a TestImage: image_test.go:54: buildah is not installed
  SKIP ex/a TestParent/sub: (no reason given)
`, out.String(), "what a plain go test prints, then the skips")
}

func TestSummarizeNothingSkipped(t *testing.T) {
	var out strings.Builder
	skips, failed, err := summarize(strings.NewReader(`{"Action":"output","Package":"ex/a","Output":"ok  \tex/a\t0.02s\n"}
{"Action":"pass","Package":"ex/a"}
not json: passed on
`), &out)
	require.NoError(t, err)
	assert.False(t, failed)
	assert.Empty(t, skips)
	assert.Equal(t, "ok  \tex/a\t0.02s\nnot json: passed on\n\nSkipped tests: none.\n", out.String())
}
