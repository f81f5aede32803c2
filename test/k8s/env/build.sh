#!/usr/bin/env bash
# Builds the real etcd and kube-apiserver that test/k8s runs against, from the
# Go module proxy alone (facts: docs/kubernetes.md, "Integration tests").
# The binaries are cached outside the repository and reused when present:
#   ${K8S_TEST_ENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/extbuilder/k8s-v1.37.2}/{etcd,kube-apiserver}
# A cold build takes about 13 minutes on 2 cores and peaks at 2.3 GB of memory.
set -euo pipefail

ETCD_VERSION=v3.6.16
KUBE_VERSION=v1.37.2
STAGING_VERSION=v0.37.2
GO=${GO:-go}
DIR=${K8S_TEST_ENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/extbuilder/k8s-$KUBE_VERSION}
SRC=$DIR/src
mkdir -p "$DIR" "$SRC"
say() { echo "k8s-test-env: $*" >&2; }

# Each binary is built under a temporary name and renamed into place, so an
# interrupted build never leaves a binary that looks complete.
if [ -x "$DIR/etcd" ]; then
  say "reusing $DIR/etcd"
else
  say "building etcd $ETCD_VERSION (about 2 minutes)"
  w=$SRC/etcd
  rm -rf "$w" && mkdir -p "$w"
  # The server module's own go.mod has replace directives, so `go install
  # ...@version` refuses it; a wrapper module that requires it does not.
  cat > "$w/go.mod" <<EOM
module extbuilder.test/etcd

go 1.24

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
EOM
  cat > "$w/tools.go" <<'EOM'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOM
  (cd "$w" && $GO mod tidy && CGO_ENABLED=0 $GO build -trimpath -ldflags='-s -w' -o "$DIR/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$DIR/etcd.tmp" "$DIR/etcd"
fi

if [ -x "$DIR/kube-apiserver" ]; then
  say "reusing $DIR/kube-apiserver"
else
  say "building kube-apiserver $KUBE_VERSION (about 10 minutes, 2.3 GB of memory)"
  w=$SRC/kube-apiserver
  rm -rf "$w" && mkdir -p "$w"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them
  # with local folders, which a dependent module ignores: replace each one
  # with its published v0.X release instead. The list is read from the real
  # go.mod, not hard-coded.
  gomod=$(cd "$w" && $GO mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')
  [ -f "$gomod" ] || { say "could not download k8s.io/kubernetes@$KUBE_VERSION's go.mod"; exit 1; }
  staging=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 } $2 ~ /^k8s\.io\// && $3 == "v0.0.0" { print $2 }' "$gomod" | sort -u)
  [ -n "$staging" ] || { say "no staging modules at v0.0.0 in $gomod"; exit 1; }
  {
    echo "module extbuilder.test/kube-apiserver"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    for m in $staging; do echo "replace $m => $m $STAGING_VERSION"; done
  } > "$w/go.mod"
  say "$(echo "$staging" | wc -l) staging modules replaced with $STAGING_VERSION"
  cat > "$w/tools.go" <<'EOM'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
EOM
  # Without the version stamp the server reports v0.0.0-master+$Format:%H$,
  # which clients cannot parse.
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=37 -X $p.gitTreeState=clean"
  done
  (cd "$w" && $GO mod tidy && CGO_ENABLED=0 $GO build -trimpath -ldflags="$ld" -o "$DIR/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$DIR/kube-apiserver.tmp" "$DIR/kube-apiserver"
fi

"$DIR/etcd" --version | head -1 >&2
"$DIR/kube-apiserver" --version >&2
say "ready in $DIR"
