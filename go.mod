module github.com/extbuilder/extbuilder

go 1.24.0

require (
	github.com/distribution/reference v0.6.0
	github.com/landlock-lsm/go-landlock v0.10.1
	github.com/otiai10/copy v1.14.1
	github.com/stretchr/testify v1.12.1
	github.com/tidwall/gjson v1.20.1
	go.yaml.in/yaml/v3 v3.0.5
	golang.org/x/sys v0.40.0
)

require (
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/otiai10/mint v1.6.3 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.2.0 // indirect
	golang.org/x/sync v0.8.0 // indirect
	kernel.org/pub/linux/libs/security/libcap/psx v1.2.77 // indirect
)
