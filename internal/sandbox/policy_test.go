package sandbox

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewPolicy(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "node")
	require.NoError(t, os.WriteFile(file, nil, 0o755))
	s := Settings{Mode: BestEffort, Read: []string{dir, file}, TCP: []uint16{9443, 7052, 9443}}
	tls := []string{"/m/client-key.pem", "/m/client-cert.pem"}
	p, err := NewPolicy(s, "/b/tree/chaincode", []string{"/b/tree/chaincode"}, "/b/tree", nil, "/b", "peer0:7052", tls, "/m/tmp")
	require.NoError(t, err)
	assert.Equal(t, []uint16{7052, 9443}, p.TCP, "the peer's port first, each port once")
	assert.Equal(t, "/b", p.BuildDir)
	assert.Equal(t, tls, p.ReadFiles[:2], "the TLS files are readable")
	assert.Contains(t, p.ExecFolders, dir)
	assert.Equal(t, []string{file}, p.ExecFiles)
	assert.Equal(t, 2, p.TLSFiles)
	assert.Equal(t, 2, p.OperatorPaths)
	for _, f := range append(append([]string(nil), p.ExecFolders...), p.ReadFiles[2:]...) {
		if f != dir {
			assert.Contains(t, append(append(append([]string(nil), systemFolders...), systemFiles...), systemDevices...), f)
		}
	}
	assert.Equal(t, []string{"/dev/null"}, p.Devices)
}

func TestDescribe(t *testing.T) {
	p := &Policy{Mode: BestEffort, TCP: []uint16{7052}, TLSFiles: 5, SystemPaths: 11}
	seccomp := ""
	if SeccompSupported() {
		seccomp = "; seccomp: no MPTCP, io_uring, module loading, kexec, reboot or other architecture"
	}
	assert.Equal(t, "sandbox: best-effort, Landlock ABI 7: files (build dir, 5 TLS files, 11 system paths read-only; scratch read-write), "+
		"TCP connect to :7052 only, no TCP bind, signals and abstract unix sockets scoped; no_new_privs"+seccomp+
		"; core 0, nofile 4096, fsize 1 GiB; not offered by this kernel: pathname unix sockets (ABI 9)", p.Describe(7))
	assert.Equal(t, "sandbox: best-effort, Landlock ABI 3: files (build dir, 5 TLS files, 11 system paths read-only; scratch read-write); no_new_privs"+seccomp+
		"; core 0, nofile 4096, fsize 1 GiB; not offered by this kernel: TCP rules (ABI 4), device ioctl (ABI 5), "+
		"signal and abstract unix socket scoping (ABI 6), pathname unix sockets (ABI 9)", p.Describe(3))
	assert.Equal(t, "sandbox: best-effort, no Landlock; no_new_privs"+seccomp+"; core 0, nofile 4096, fsize 1 GiB; not offered by this kernel: Landlock", p.Describe(0))
	assert.Empty(t, Missing(9))
}

func TestStrictNeedsFilesTCPAndScoping(t *testing.T) {
	assert.NoError(t, Settings{Mode: Strict}.Check(6))
	assert.NoError(t, Settings{Mode: BestEffort}.Check(0))
	err := Settings{Mode: Strict}.Check(4)
	require.Error(t, err)
	assert.Equal(t, "sandbox: EXTBUILDER_SANDBOX=strict, but this kernel's Landlock (ABI 4) lacks device ioctl (ABI 5), "+
		"signal and abstract unix socket scoping (ABI 6); the chaincode was not started; hint: use Linux 6.12 or later, or set EXTBUILDER_SANDBOX=best-effort", err.Error())
	assert.Contains(t, Settings{Mode: Strict}.Check(0).Error(), "lacks files (ABI 1), ")
}
