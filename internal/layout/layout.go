// Package layout names what build leaves in BUILD_OUTPUT_DIR for release
// and run, and what release leaves in RELEASE_OUTPUT_DIR for the peer. The
// three programs are built from different packages (release links neither
// the executable checks nor text/template); this is where they agree on
// names. Names of the files they read (metadata.json, connection.json,
// chaincode.json, the CouchDB folders) belong to the packages that read
// them.
package layout

const (
	// TreeDir holds a binary package's whole program in BUILD_OUTPUT_DIR.
	TreeDir = "tree"
	// EntryFile holds one line: the entry point's path relative to TreeDir.
	EntryFile = "entrypoint"
	// Executable is the entry point of a binary package whose metadata.json
	// has no path, and the name under which builds of earlier versions put
	// the executable in BUILD_OUTPUT_DIR.
	Executable = "chaincode"
	// ServerDir is where the peer looks for connection.json in
	// RELEASE_OUTPUT_DIR; its first element is the folder release moves
	// into place last.
	ServerDir  = "chaincode/server"
	ReleaseTop = "chaincode"
)
