package launch

import (
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tlsChaincode() *Chaincode {
	return &Chaincode{ID: "a:b", PeerAddress: "p:1", ClientCert: testClient.CertPEM, ClientKey: testClient.KeyPEM, RootCert: testCA.CertPEM}
}

func TestWriteTLSFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := WriteTLSFiles(dir, tlsChaincode())
	require.NoError(t, err)
	want := map[string]string{
		files.ClientKey:        testClient.KeyPEM,
		files.ClientCert:       testClient.CertPEM,
		files.RootCert:         testCA.CertPEM,
		files.ClientKeyBase64:  base64.StdEncoding.EncodeToString([]byte(testClient.KeyPEM)),
		files.ClientCertBase64: base64.StdEncoding.EncodeToString([]byte(testClient.CertPEM)),
	}
	require.Len(t, want, 5, "five distinct files")
	for path, content := range want {
		assert.True(t, filepath.IsAbs(path), path)
		assert.Equal(t, dir, filepath.Dir(path))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, content, string(got), path)
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, fs.FileMode(0o600), info.Mode(), path)
	}
	files.Remove()
	left, _ := os.ReadDir(dir)
	assert.Empty(t, left)
}

func TestWriteTLSFilesWithoutTLS(t *testing.T) {
	dir := t.TempDir()
	files, err := WriteTLSFiles(dir, &Chaincode{ID: "a:b", PeerAddress: "p:1"})
	require.NoError(t, err)
	assert.Nil(t, files)
	left, _ := os.ReadDir(dir)
	assert.Empty(t, left)
	files.Remove() // safe on nil
}

func TestWriteTLSFilesNeverWritesThroughASymlink(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "stolen")
	require.NoError(t, os.Symlink(target, filepath.Join(dir, ClientKeyFile)))
	require.NoError(t, os.WriteFile(filepath.Join(dir, RootCertFile), []byte("old"), 0o644))
	files, err := WriteTLSFiles(dir, tlsChaincode())
	require.NoError(t, err)
	assert.NoFileExists(t, target)
	info, err := os.Lstat(files.ClientKey)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode(), "a regular file replaced the link")
	info, err = os.Stat(files.RootCert)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), info.Mode(), "an existing file is replaced with mode 0600")
}

func TestWriteTLSFilesLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	// A folder where the last file goes makes the write fail half-way.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ClientCertBase64File, "x"), 0o700))
	_, err := WriteTLSFiles(dir, tlsChaincode())
	require.Error(t, err)
	assert.Equal(t, "RUN_METADATA_DIR: cannot write client-cert.pem.base64: directory not empty", err.Error())
	left, _ := os.ReadDir(dir)
	require.Len(t, left, 1)
	assert.Equal(t, ClientCertBase64File, left[0].Name())
}
