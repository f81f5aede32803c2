package check

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// DialTarget checks a chaincode server address as the peer's gRPC client
// dials it: comm.ClientConfig.Dial calls grpc.DialContext, which parses the
// address as a URL and hands it to the resolver its scheme names (dns,
// passthrough, unix and unix-abstract are registered in the peer); any other
// address is dialled over TCP as host:port, the port resolved by Go's net
// package. It returns the address to write, which gives the peer the same
// connection, and a note for a warning when that differs from addr.
func DialTarget(addr string) (canonical, note string, f *Finding) {
	u, err := url.Parse(addr)
	if err != nil || u.Scheme == "" {
		return tcpTarget(addr)
	}
	endpoint := strings.TrimPrefix(u.Path, "/")
	if endpoint == "" {
		endpoint = u.Opaque
	}
	switch u.Scheme { // lower case: url.Parse folds it, and gRPC relies on that
	case "unix", "unix-abstract":
		return "", "", finding("give the chaincode server's host:port; a package must not choose a socket on the peer's host",
			"expected host:port, found %s, which the peer's gRPC would dial as a Unix socket on the peer's own file system", msg.Quote(addr))
	case "dns", "passthrough":
	default:
		if strings.Contains(addr, "://") {
			return "", "", finding("write host:port (TLS is set by tls_required), or dns:///host:port",
				"expected host:port, found the URL %s: the peer's gRPC has no resolver for %s and would dial the whole text as host:port, which fails", msg.Quote(addr), msg.Quote(u.Scheme))
		}
		return tcpTarget(addr) // "mycc:9999" parses as scheme "mycc"; gRPC dials it as host:port
	}
	opaque := !strings.HasPrefix(addr[len(u.Scheme)+1:], "//")
	switch {
	case u.Host != "":
		return "", "", finding("write "+u.Scheme+":///host:port, or host:port",
			"expected %s:///host:port, found %s, whose authority %s the peer's gRPC would use as its DNS server", u.Scheme, msg.Quote(addr), msg.Quote(u.Host))
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", "", finding("", "expected %s:///host:port, found %s", u.Scheme, msg.Quote(addr))
	case opaque && !strings.Contains(endpoint, ":"):
		// "dns:9999" is not host dns, port 9999, to gRPC.
		return "", "", finding("write "+u.Scheme+":///host:port, or host:port",
			"expected host:port, found %s, which the peer's gRPC reads as its %s resolver and the target %s", msg.Quote(addr), u.Scheme, msg.Quote(endpoint))
	}
	hostPort, note, f := tcpTarget(endpoint)
	if f != nil {
		if u.Scheme == "dns" && (!strings.Contains(endpoint, ":") || strings.HasSuffix(endpoint, "]")) {
			f = finding("write "+u.Scheme+":///host:port", "expected %s:///host:port, found %s without a port: gRPC's DNS resolver would dial port 443", u.Scheme, msg.Quote(addr))
		}
		return "", "", f
	}
	if u.Scheme == "passthrough" {
		// The peer's grpc.DialContext dials host:port through passthrough anyway.
		return hostPort, join(note, "passthrough:/// is how the peer dials host:port anyway"), nil
	}
	canonical = "dns:///" + hostPort
	if canonical != addr && note == "" {
		note = "written in the form dns:///host:port"
	}
	return canonical, note, nil
}

// tcpTarget checks host:port as Go's dialer reads it. Its port lookup
// (net.LookupPort) also takes a service name such as https, and "+80" or
// " 80"; build runs on the peer's host, so the number found here is the
// peer's, and that number is written.
func tcpTarget(addr string) (string, string, *Finding) {
	host, port, err := net.SplitHostPort(addr)
	switch {
	case addr != "" && !strings.Contains(addr, ":"):
		return "", "", finding("write host:port, e.g. \"mycc.example.com:9999\"",
			"expected host:port, found %s without a port: the peer's dial would fail (missing port in address)", msg.Quote(addr))
	case err == nil && host == "":
		return "", "", finding("write the chaincode server's host before the port",
			"expected a host before the port, found %s, with which the peer would dial its own host", msg.Quote(addr))
	}
	note := ""
	if err == nil && port != "" && strings.Trim(port, "0123456789") != "" {
		n, err := net.LookupPort("tcp", port)
		switch {
		case err == nil:
			addr = net.JoinHostPort(host, strconv.Itoa(n))
			note = "the port " + msg.Quote(port) + " is port " + strconv.Itoa(n) + " to the peer"
		case serviceName(port):
			return "", "", finding("write the port number", "expected a port number, found %s, which names no TCP service here (the peer looks names up in its /etc/services)", msg.Quote(port))
		}
	}
	if f := Address(addr); f != nil {
		return "", "", f
	}
	return addr, note, nil
}

// serviceName reports whether s looks like a name from /etc/services.
func serviceName(s string) bool {
	letter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9' || c == '-' || c == '_':
		default:
			return false
		}
	}
	return letter
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "; " + b
}
