package peersim_test

import (
	"crypto/tls"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

func serverConfig(pair *testpki.Pair, clientCA *testpki.CA) *tls.Config {
	return pair.ServerTLS(clientCA)
}
