//go:build linux

package test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/test/scale"
)

// TestManyChaincodesStartLogAndStopTogether runs the scale scenario small:
// 20 binary-package chaincodes launched at once through bin/run, each dialing
// a stand-in peer over mutual TLS, all logging at full speed when SIGTERM
// reaches every run at once. It checks correctness only (speed and memory
// budgets are make bench's): every chaincode connects, every run and
// chaincode process is gone within the peer's 5 s, the peer received every
// line whole and in order, and nothing is left behind.
func TestManyChaincodesStartLogAndStopTogether(t *testing.T) {
	begin := time.Now()
	s, err := scale.Setup(scale.Config{Root: "..", Builder: builderDir, Scratch: t.TempDir(), N: 20})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	t.Logf("setup %s", time.Since(begin))

	took, err := s.Launch(60 * time.Second)
	require.NoError(t, err, "every chaincode connects")
	t.Logf("connected in %s", took)
	_, err = s.PSS()
	require.NoError(t, err, "run's memory can be read")
	lg, err := s.Log(200*time.Millisecond, 300*time.Millisecond)
	require.NoError(t, err)
	t.Logf("%.0f lines/s", lg.LinesPerS)

	st := s.Stop()
	t.Logf("stopped in %s", st.Slowest)
	assert.Empty(t, st.Killed, "runs the peer had to kill after its 5 s")
	assert.Empty(t, st.Left, "processes still there 5 s after SIGTERM")
	assert.Empty(t, s.Problems())
}
