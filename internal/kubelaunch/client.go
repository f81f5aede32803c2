package kubelaunch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/extbuilder/extbuilder/internal/cli"
	"github.com/extbuilder/extbuilder/internal/msg"
)

// namespaceFile is where Kubernetes tells a pod its own namespace.
const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Connect makes the API client from run's environment: KUBECONFIG when set
// (its current context's namespace is the default), else the in-cluster
// configuration of the peer's pod (KUBERNETES_SERVICE_HOST and _PORT and the
// pod's service account; its namespace is the default). It returns the
// default namespace with the client.
func Connect(getenv func(string) string) (kubernetes.Interface, string, error) {
	var cfg *rest.Config
	namespace := "default"
	switch {
	case getenv(EnvKubeconfig) != "":
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(getenv(EnvKubeconfig))}
		loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
		c, err := loader.ClientConfig()
		if err != nil {
			return nil, "", &msg.Error{File: EnvKubeconfig, Problem: "cannot be used: " + msg.Safe(err.Error())}
		}
		if ns, _, err := loader.Namespace(); err == nil && ns != "" {
			namespace = ns
		}
		cfg = c
	case getenv(EnvServiceHost) != "":
		c, err := rest.InClusterConfig()
		if err != nil {
			return nil, "", fmt.Errorf("cannot use the peer pod's in-cluster configuration: %s; hint: the peer's pod needs its service account token mounted and %s and %s in propagateEnvironment",
				msg.Safe(err.Error()), EnvServiceHost, EnvServicePort)
		}
		if data, err := os.ReadFile(namespaceFile); err == nil && strings.TrimSpace(string(data)) != "" {
			namespace = strings.TrimSpace(string(data))
		}
		cfg = c
	default:
		return nil, "", fmt.Errorf("no Kubernetes API server: neither %s nor %s is set; hint: add %s and %s (peer in a pod) or %s to the builder's propagateEnvironment",
			EnvServiceHost, EnvKubeconfig, EnvServiceHost, EnvServicePort, EnvKubeconfig)
	}
	cfg.UserAgent = "extbuilder-k8s-run/" + cli.Version
	// Deprecation warnings would be multi-line noise in the peer log.
	cfg.WarningHandler = rest.NoWarnings{}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("cannot make a Kubernetes client: %s", msg.Safe(err.Error()))
	}
	return client, namespace, nil
}
