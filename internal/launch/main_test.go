package launch

import (
	"os"
	"testing"

	"github.com/extbuilder/extbuilder/internal/sandbox"
)

// TestMain lets this test binary serve as the sandbox step: Run starts
// /proc/self/exe, which here is the test binary, as cmd/run does.
func TestMain(m *testing.M) {
	if sandbox.IsStep(os.Args) {
		sandbox.StepMain()
	}
	os.Exit(m.Run())
}
