//go:build linux

package k8s

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// EnvTarget is the make target that builds the binaries the tests need.
const EnvTarget = "make k8s-test-env"

// envDir is where `make k8s-test-env` caches etcd and kube-apiserver.
func envDir() string {
	if d := os.Getenv("K8S_TEST_ENV_DIR"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(cache, "extbuilder", "k8s-v1.37.2")
}

// missingBinaries says which binaries are missing, or "" when both are there.
func missingBinaries(dir string) string {
	for _, name := range []string{"etcd", "kube-apiserver"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode()&0o111 == 0 {
			return fmt.Sprintf("%s not found in %s; `%s` builds etcd and kube-apiserver there (about 13 minutes once, then reused)", name, dir, EnvTarget)
		}
	}
	return ""
}

// cluster is a real etcd and kube-apiserver on 127.0.0.1, in dir.
type cluster struct {
	dir    string
	procs  []*exec.Cmd
	host   string // https://127.0.0.1:PORT
	caFile string
	admin  kubernetes.Interface
}

const adminToken = "extbuilder-test-admin-token"

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports = append(ports, p)
	}
	return ports, nil
}

// startCluster starts etcd, then kube-apiserver with the flags
// docs/kubernetes.md lists, and waits until the API server is ready.
func startCluster(bin, dir string) (_ *cluster, err error) {
	c := &cluster{dir: dir}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	client, peer, metrics, secure := ports[0], ports[1], ports[2], ports[3]
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	if err := c.start(filepath.Join(bin, "etcd"), "etcd.log",
		"--name=test", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL, "--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=test="+peerURL,
		fmt.Sprintf("--listen-metrics-urls=http://127.0.0.1:%d", metrics),
	); err != nil {
		return nil, err
	}
	if err := waitHTTP(http.DefaultClient, clientURL+"/health", "", 60*time.Second); err != nil {
		return nil, fmt.Errorf("etcd: %v (log: %s)", err, filepath.Join(dir, "etcd.log"))
	}

	saKey, saPub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := writeRSAPair(saKey, saPub); err != nil {
		return nil, err
	}
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(adminToken+`,admin,admin-uid,"system:masters"`+"\n"), 0o600); err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, "certs")
	if err := c.start(filepath.Join(bin, "kube-apiserver"), "kube-apiserver.log",
		"--etcd-servers="+clientURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(secure),
		"--endpoint-reconciler-type=none",
		"--cert-dir="+certDir,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saPub, "--service-account-signing-key-file="+saKey,
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/24",
	); err != nil {
		return nil, err
	}
	c.host = fmt.Sprintf("https://127.0.0.1:%d", secure)
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if err := waitHTTP(insecure, c.host+"/readyz", adminToken, 120*time.Second); err != nil {
		return nil, fmt.Errorf("kube-apiserver: %v (log: %s)", err, filepath.Join(dir, "kube-apiserver.log"))
	}
	c.caFile = filepath.Join(certDir, "apiserver.crt")
	c.admin, err = kubernetes.NewForConfig(c.config(adminToken))
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cluster) config(token string) *rest.Config {
	return &rest.Config{Host: c.host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAFile: c.caFile}}
}

func (c *cluster) start(path, log string, args ...string) error {
	f, err := os.Create(filepath.Join(c.dir, log))
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Killed with the test binary, whatever happens to it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	c.procs = append(c.procs, cmd)
	return nil
}

// stop ends the API server, then etcd.
func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	c.procs = nil
}

func waitHTTP(client *http.Client, url, token string, timeout time.Duration) error {
	end := time.Now().Add(timeout)
	var last error
	for time.Now().Before(end) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %s: %v", timeout, last)
}

func writeRSAPair(keyFile, pubFile string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

// setupNamespace creates the namespace with its default ServiceAccount
// (kube-controller-manager would) and the peer's ServiceAccount, Role and
// RoleBinding from deploy/k8s, and returns a kubeconfig for that
// ServiceAccount: run gets exactly the rights deploy/k8s grants.
func (c *cluster) setupNamespace(ctx context.Context, ns, deployDir, kubeconfig string) error {
	if _, err := c.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := c.admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	var saName string
	for _, file := range []string{"serviceaccount.yaml", "role.yaml", "rolebinding.yaml"} {
		data, err := os.ReadFile(filepath.Join(deployDir, file))
		if err != nil {
			return err
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(data, nil, nil)
		if err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			saName = o.Name
			_, err = c.admin.CoreV1().ServiceAccounts(ns).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			_, err = c.admin.RbacV1().Roles(ns).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			for i := range o.Subjects {
				o.Subjects[i].Namespace = ns
			}
			_, err = c.admin.RbacV1().RoleBindings(ns).Create(ctx, o, metav1.CreateOptions{})
		default:
			err = fmt.Errorf("unexpected %T", obj)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", file, err)
		}
	}
	if saName == "" {
		return errors.New("deploy/k8s has no ServiceAccount")
	}
	tr, err := c.admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, saName, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["test"] = &clientcmdapi.Cluster{Server: c.host, CertificateAuthority: c.caFile}
	cfg.AuthInfos["peer"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "peer", Namespace: ns}
	cfg.CurrentContext = "test"
	return clientcmd.WriteToFile(*cfg, kubeconfig)
}

func ptr[T any](v T) *T { return &v }
