package sandbox

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultSettings(t *testing.T) {
	s, err := FromEnv(env(nil))
	require.NoError(t, err)
	assert.Equal(t, Settings{Mode: BestEffort, Memory: DefaultMemory, Pids: DefaultPids}, s)
}

func TestSettings(t *testing.T) {
	dir := t.TempDir()
	s, err := FromEnv(env(map[string]string{
		ModeVariable: "strict", ReadVariable: "/usr/local/bin:" + dir + "/", TCPVariable: "9443, 5984",
		CgroupVariable: dir, MemoryVariable: "512M", PidsVariable: "64",
	}))
	require.NoError(t, err)
	assert.Equal(t, Settings{Mode: Strict, Read: []string{"/usr/local/bin", dir}, TCP: []uint16{9443, 5984},
		Cgroup: dir, Memory: 512 << 20, Pids: 64}, s)
}

func TestBadSettings(t *testing.T) {
	cases := map[string]struct{ name, value, want string }{
		"mode":          {ModeVariable, "OFF", `EXTBUILDER_SANDBOX: expected strict, best-effort or off, found "OFF"`},
		"relative path": {ReadVariable, "opt/jdk", `EXTBUILDER_SANDBOX_READ: expected absolute paths separated by ":", found "opt/jdk"`},
		"missing path":  {ReadVariable, "/nonexistent", `EXTBUILDER_SANDBOX_READ: "/nonexistent" does not exist or cannot be read (no such file or directory)`},
		"port 0":        {TCPVariable, "0", `EXTBUILDER_SANDBOX_TCP: expected TCP ports from 1 to 65535 separated by commas, found "0"`},
		"port too big":  {TCPVariable, "65536", `EXTBUILDER_SANDBOX_TCP: expected TCP ports from 1 to 65535 separated by commas, found "65536"`},
		"negative port": {TCPVariable, "-1", `EXTBUILDER_SANDBOX_TCP: expected TCP ports from 1 to 65535 separated by commas, found "-1"`},
		"cgroup":        {CgroupVariable, "sys/fs/cgroup", `EXTBUILDER_SANDBOX_CGROUP: expected absolute paths separated by ":", found "sys/fs/cgroup"`},
		"memory":        {MemoryVariable, "0", `EXTBUILDER_SANDBOX_MEMORY: expected a positive size in bytes, optionally with K, M or G (e.g. 512M), found "0"`},
		"pids":          {PidsVariable, "10k", `EXTBUILDER_SANDBOX_PIDS: expected a positive whole number, found "10k"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := FromEnv(env(map[string]string{c.name: c.value}))
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
		})
	}
}
