package test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWhatEachProgramLinks: each of the peer's programs links only what its
// job needs (issue 11). release only moves files and reads connection.json
// literally: no templates, no process starting, no ELF reading. run starts
// the chaincode but expands no template. detect runs for every package a
// peer installs and must stay as cheap as a no-op: no cryptography at all.
func TestWhatEachProgramLinks(t *testing.T) {
	forbidden := map[string][]string{
		"detect":  {"crypto", "crypto/", "text/template", "os/exec", "debug/elf"},
		"release": {"text/template", "os/exec", "debug/elf"},
		"run":     {"text/template"},
	}
	for program, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "../cmd/"+program).Output()
		if err != nil {
			t.Fatalf("go list -deps ./cmd/%s: %v", program, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if dep == b || strings.HasSuffix(b, "/") && strings.HasPrefix(dep, b) {
					t.Errorf("%s links %s; it must not link %s", program, dep, b)
				}
			}
		}
	}
}
